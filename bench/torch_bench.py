#!/usr/bin/python3
"""PyTorch side of dlc's benchmark: the same models as examples/*.json, same data.

One measure per run, so that bench/run.py can interleave it with dlc's:
    torch_bench.py MEASURE [--seconds S]
prints `result MEASURE VALUE UNIT [detail]`. Measures:
    train_mlp, train_mlp_relu_adam, train_cnn      training samples/s
    latency1_mlp, latency1_cnn                     batch-1 inference, median us of >= 2000 calls
    infer256_mlp, infer256_cnn                     batch-256 inference samples/s
    train_vgg_cifar, infer64_vgg_cifar             the VGG-style model (bench/models/vgg_cifar.json)
                                                   on synthetic 32x32x3 images
    train_{lstm,gru}_t{100,400}                    recurrent training samples/s (bench/models/)
    latency1_{lstm,gru}_t100                       batch-1 inference of a 100-step sequence, median us
Inference is timed eager (inference_mode) and as torch.jit.trace + freeze +
optimize_for_inference; the better of the two is the result (both are in the detail).
Settings: --threads T (default 2), flush denormals, OMP_WAIT_POLICY from the environment
(default PASSIVE); bench/run.py runs several such configurations and keeps the best.

OpenBLAS's core type: Debian 12's OpenBLAS (0.3.21), which PyTorch's matmuls go through,
picks its kernels from the CPU it recognises, and an environment may force them with
OPENBLAS_CORETYPE (some machines set Haswell as a guard for older builds: that ran PyTorch
on its AVX2 kernels at a third of its speed). This script never inherits that choice: it
probes the core types that can run here (--probe-blas in a child process per candidate),
checks one product against float64 before trusting a type, and runs with the fastest
correct one. bench/run.py probes once and passes the result as --openblas-coretype.
    torch_bench.py --choose-blas [--threads T]   prints `blas CORE` and the probe's table
"""
import os
import subprocess
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Candidates by the instructions they need; "auto" is OpenBLAS's own detection.
CORETYPES = [("auto", []), ("Cooperlake", ["avx512_bf16", "avx512f"]), ("SkylakeX", ["avx512f", "avx512bw", "avx512vl"]),
             ("Zen", ["avx2", "fma"]), ("Haswell", ["avx2", "fma"])]
# The products the probe times: square, and the MLP's first layer at batch 100 (bench's sizes).
PROBE_SHAPES = [(1024, 1024, 1024), (100, 500, 784)]


def cpu_flags():
    try:
        return set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return set()


def probe_blas(threads):
    """In a child whose OPENBLAS_CORETYPE is set: the core OpenBLAS loaded (its verbose
    line), the largest relative error of the products against float64, and the geometric
    mean GFLOP/s over PROBE_SHAPES (best of 5 each)."""
    import time
    import torch
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    err, rates = 0.0, []
    for m, n, k in PROBE_SHAPES:
        a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
        ref = a.double() @ b.double()
        err = max(err, ((a @ b).double() - ref).abs().max().item() / ref.abs().max().item())
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(3):
                a @ b
            best = min(best, (time.perf_counter() - t0) / 3)
        rates.append(2 * m * n * k / best * 1e-9)
    mean = 1.0
    for r in rates:
        mean *= r
    print(f"probe {err:.3g} {mean ** (1 / len(rates)):.1f}", flush=True)


def choose_blas(threads):
    """(core type to set, or "auto"; one line per candidate)."""
    flags, seen, rows = cpu_flags(), {}, []
    for name, needs in CORETYPES:
        if not all(f in flags for f in needs):
            continue
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        if name != "auto":
            env["OPENBLAS_CORETYPE"] = name
        env["OPENBLAS_VERBOSE"] = "2"
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe-blas", "--threads", str(threads)],
                           capture_output=True, text=True, env=env)
        loaded = next((line.split(":", 1)[1].strip() for line in (r.stdout + r.stderr).splitlines()
                       if line.startswith("Core:")), "?")
        probe = next((line.split()[1:] for line in r.stdout.splitlines() if line.startswith("probe ")), None)
        if probe is None:
            rows.append(f"{name}: failed ({(r.stderr or r.stdout)[-200:].strip()})")
            continue
        err, rate = float(probe[0]), float(probe[1])
        ok = err < 1e-5
        rows.append(f"{name}: loads {loaded}, {rate:.1f} GFLOP/s, relative error {err:.2g}{'' if ok else ' WRONG'}")
        if ok and (loaded not in seen or rate > seen[loaded][1]):
            seen[loaded] = (name, rate)
    if not seen:
        return "auto", rows
    return max(seen.values(), key=lambda v: v[1])[0], rows


def arg(flag, default):
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


if __name__ == "__main__" and "--probe-blas" in sys.argv:
    probe_blas(int(arg("--threads", "2")))
    sys.exit(0)
if __name__ == "__main__" and "--choose-blas" in sys.argv:
    core, table = choose_blas(int(arg("--threads", "2")))
    for row in table:
        print(f"# openblas {row}")
    print(f"blas {core}")
    sys.exit(0)
INHERITED = os.environ.pop("OPENBLAS_CORETYPE", None)
if __name__ == "__main__":
    CORE = arg("--openblas-coretype", None) or choose_blas(int(arg("--threads", "2")))[0]
    if CORE != "auto":
        os.environ["OPENBLAS_CORETYPE"] = CORE

import gzip  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
MODELS = {"mlp": "mlp.json", "mlp_relu_adam": "mlp_relu_adam.json", "cnn": "cnn.json"}


def model_spec(name):
    """examples/NAME.json, else bench/models/NAME.json (the recurrent measures)."""
    if name in MODELS:
        return json.load(open(os.path.join(ROOT, "examples", MODELS[name])))
    return json.load(open(os.path.join(ROOT, "bench", "models", name + ".json")))


def sequence_data(steps):
    """bench_data.h's sequence_data: 3200 sequences of token ids in [0, 64), labels 0, 1."""
    i = np.arange(3200, dtype=np.int64)[:, None]
    t = np.arange(steps, dtype=np.int64)[None, :]
    x = ((i * 131 + t * 71) ^ (i >> 3)) % 64
    return torch.from_numpy(x), torch.from_numpy(np.arange(3200, dtype=np.int64) % 2), "synthetic-ids"


class Recurrent(nn.Module):
    """nn.LSTM / nn.GRU (batch_first, one layer) returning the last step's state, as dlc's
    lstm/gru without return_sequences (bench/models' GRU sets reset_after: nn.GRU's function)."""

    def __init__(self, kind, features, units):
        super().__init__()
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(features, units, batch_first=True)

    def forward(self, x):
        out, _ = self.rnn(x)
        return out[:, -1]


def image_data():
    """bench_data.h's image_data: 2048 synthetic 32x32x3 images (the same values, one
    sample's 3072 values viewed as NCHW here), labels 0..9."""
    i = np.arange(2048 * 3072, dtype=np.uint64)
    x = ((i * np.uint64(2654435761)) % np.uint64(1000)).astype(np.float32) / 1000.0
    return torch.from_numpy(x.reshape(2048, 3072)), torch.from_numpy(np.arange(2048, dtype=np.int64) % 10), \
        "synthetic-images"


def data_for(name, spec):
    """Fashion-MNIST for the examples' models, synthetic images or token ids for bench/models'."""
    if name in MODELS:
        return load_data()
    shape = spec["input_shape"]
    return image_data() if len(shape) == 3 else sequence_data(shape[0])


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_data():
    """Fashion-MNIST training set as float [60000, 784] in [0, 1] and int64 labels; random
    data of the same shape when the Debian package is missing."""
    try:
        x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz").reshape(-1, 784)
        y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz")
        return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64)), "fashion-mnist"
    except OSError:
        g = torch.Generator().manual_seed(0)
        return torch.rand(60000, 784, generator=g), torch.randint(0, 10, (60000,), generator=g), "random"


ACTS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def build(spec):
    """The torch module for a dlc model (NCHW inside; the softmax stays in the loss)."""
    shape = list(spec["input_shape"])  # NHWC without batch, or [features]
    chans = shape[-1] if len(shape) == 3 else None
    feats = shape[0] if len(shape) == 1 else None
    hw = shape[:2] if len(shape) == 3 else None
    layers = []
    for layer in spec["layers"]:
        kind, act = layer["type"], layer.get("activation")
        if kind == "conv2d":
            k = layer["kernel_size"]
            pad = k // 2 if layer.get("padding") == "same" else 0
            layers.append(nn.Conv2d(chans, layer["filters"], k, padding=pad))
            chans = layer["filters"]
            hw = [d + 2 * pad - k + 1 for d in hw]
        elif kind == "max_pool2d":
            p = layer["pool_size"]
            layers.append(nn.MaxPool2d(p))
            hw = [d // p for d in hw]
        elif kind == "flatten":
            layers.append(nn.Flatten())
            feats = chans * hw[0] * hw[1]
        elif kind == "embedding":
            layers.append(nn.Embedding(layer["input_dim"], layer["output_dim"]))
            feats = layer["output_dim"]
        elif kind in ("lstm", "gru"):
            layers.append(Recurrent(kind, feats, layer["units"]))
            feats = layer["units"]
        elif kind == "dense":
            lin = nn.Linear(feats, layer["units"])
            if layer.get("kernel_initializer") == "he_uniform":
                nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu")
            layers.append(lin)
            feats = layer["units"]
        else:
            raise ValueError(f"torch_bench: no torch equivalent for layer type {kind}")
        if act in ACTS:
            layers.append(ACTS[act]())
    return nn.Sequential(*layers), (shape[2], shape[0], shape[1]) if len(shape) == 3 else None


def optimizer(spec, model):
    opt = spec["optimizer"]
    lr = opt.get("lr", 0.1 if opt["type"] == "sgd" else 0.001)
    if opt["type"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    if opt["type"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    raise ValueError(f"torch_bench: optimizer {opt['type']}")


def as_input(x, image):
    """A batch of flat samples as the model's input: NCHW images (C, H, W) or as they are."""
    return x.view(-1, *image) if image else x


def train(name, seconds):
    spec = model_spec(name)
    model, image = build(spec)
    opt = optimizer(spec, model)
    x, y, source = data_for(name, spec)
    bs = spec["batch_size"]
    steps_per_epoch = x.shape[0] // bs

    def step(i):
        j = (i % steps_per_epoch) * bs
        out = model(as_input(x[j:j + bs], image))
        loss = F.cross_entropy(out, y[j:j + bs])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(20):  # warm-up: allocator, OpenMP threads
        step(i)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            step(n)
            n += 1
    return n * bs / (time.perf_counter() - t0), f"data={source}"


def frozen(model, example):
    traced = torch.jit.trace(model.eval(), example)
    return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def latency_us(fn, x, calls):
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def throughput(fn, x, seconds):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(x)
        n += x.shape[0]
    return n / (time.perf_counter() - t0)


def infer(name, batch, seconds):
    spec = model_spec(name)
    model, image = build(spec)
    model.eval()
    x, _, _ = data_for(name, spec)
    xb = as_input(x[:batch].contiguous(), image).contiguous()
    with torch.inference_mode():
        eager = model
        jit = frozen(model, xb)
        results = {}
        for label, fn in (("eager", eager), ("jit", jit)):
            for _ in range(50):
                fn(xb)
            if batch == 1:
                results[label] = latency_us(fn, xb, max(2000, int(seconds * 2000)))
            else:
                results[label] = throughput(fn, xb, seconds)
    best = min(results.values()) if batch == 1 else max(results.values())
    detail = " ".join(f"{k}={v:.1f}" for k, v in results.items())
    return best, detail


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    measure = sys.argv[1]
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 2.0
    kind, _, name = measure.partition("_")
    if kind == "train":
        value, detail = train(name, seconds)
        unit = "samples/s"
    elif kind == "latency1":
        value, detail = infer(name, 1, seconds)
        unit = "us"
    elif kind.startswith("infer") and kind[5:].isdigit():
        value, detail = infer(name, int(kind[5:]), seconds)
        unit = "samples/s"
    else:
        sys.exit(f"torch_bench: unknown measure {measure}")
    detail += (f" threads={threads} wait={os.environ['OMP_WAIT_POLICY']} openblas={CORE}"
               f" (environment: {INHERITED or 'unset'})")
    print(f"result {measure} {value:.2f} {unit} {detail}", flush=True)


if __name__ == "__main__":
    main()
