"""The learning-rate study behind examples/cnn.json (docs/training.md): the example's CNN in
PyTorch, Glorot-initialised as dlc does, trained 3 epochs with Adam; prints the test
accuracy. Usage: /usr/bin/python3 bench/torch_cnn_schedule.py VARIANT SEED [DATA_DIR]
VARIANT: base (Adam 1e-3), lr15, lr2 (1.5e-3, 2e-3), decay (1e-3 halved per epoch),
lr2decay (2e-3 halved per epoch: the example's schedule), norm (1e-3, standardised input),
torchinit (1e-3 with PyTorch's default initialisation)."""
import gzip, struct, sys, os, numpy as np, torch, torch.nn as nn
torch.set_num_threads(1); torch.set_flush_denormal(True)
d=(sys.argv[3] if len(sys.argv) > 3 else '/usr/share/datasets/fashion-mnist') + '/'
def imgs(f):
    b=gzip.open(d+f).read(); n=struct.unpack('>I',b[4:8])[0]; return np.frombuffer(b,np.uint8,offset=16).reshape(n,1,28,28).astype(np.float32)/255
def labs(f):
    b=gzip.open(d+f).read(); return np.frombuffer(b,np.uint8,offset=8).astype(np.int64)
X,Y,XT,YT=map(torch.tensor,(imgs('train-images-idx3-ubyte.gz'),labs('train-labels-idx1-ubyte.gz'),imgs('t10k-images-idx3-ubyte.gz'),labs('t10k-labels-idx1-ubyte.gz')))
var=sys.argv[1]; seed=int(sys.argv[2])
if var=='norm':
    mu,sd=X.mean(),X.std(); X=(X-mu)/sd; XT=(XT-mu)/sd
torch.manual_seed(seed)
m=nn.Sequential(nn.Conv2d(1,8,5,padding=2),nn.ReLU(),nn.MaxPool2d(2),nn.Conv2d(8,16,5,padding=2),nn.ReLU(),nn.MaxPool2d(2),nn.Flatten(),nn.Linear(784,128),nn.ReLU(),nn.Linear(128,10))
for l in (m if var != 'torchinit' else []):
    if isinstance(l,(nn.Conv2d,nn.Linear)): nn.init.xavier_uniform_(l.weight); nn.init.zeros_(l.bias)
lr={'lr2':2e-3,'lr15':1.5e-3}.get(var,1e-3)
opt=torch.optim.Adam(m.parameters(),lr)
for ep in range(3):
    if var=='decay':
        for g in opt.param_groups: g['lr']=1e-3*(0.5**ep)
    if var=='lr2decay':
        for g in opt.param_groups: g['lr']=2e-3*(0.5**ep)
    p=torch.randperm(60000)
    for i in range(0,60000,64):
        idx=p[i:i+64]; opt.zero_grad(); l=nn.functional.cross_entropy(m(X[idx]),Y[idx]); l.backward(); opt.step()
with torch.no_grad(): acc=(m(XT).argmax(1)==YT).float().mean().item()
print(var,seed,'test acc',round(acc,4),flush=True)
