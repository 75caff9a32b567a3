#!/usr/bin/env bash
# `dlc train` and `dlc eval` with the reference backend on a tiny generated IDX data set:
# learning, determinism, resume bit-identity, Ctrl-C checkpoints, NaN stop, early
# stopping, and bad input. Small enough to run in seconds through the interpreter.
source "$SRC/tests/lib.sh"
D="$TMP/data"
band_idx_data "$D" # 96 training and 30 test samples of 3 classes
model() { # model UNITS LR: a 16-8-UNITS softmax classifier with Adam
  echo '{"name": "tiny", "input_shape": [16], "layers": [{"type": "dense", "units": 8, "activation": "relu"},
    {"type": "dense", "units": '"$1"', "activation": "softmax"}], "loss": "categorical_crossentropy",
    "optimizer": {"type": "adam", "lr": '"$2"'}, "batch_size": 10, "epochs": 2, "metrics": ["accuracy"]}'
}
model 3 0.05 >"$TMP/m.json"
T=("$DLC" train "$TMP/m.json" --data "$D" --backend ref --val-split 0.25)
# epochs: the epoch lines of the last run without their timing.
epochs() { grep '^epoch' "$TMP/out" | sed 's/ (.*samples\/s)$//'; }
expect_same() { # expect_same WHAT A B
  if [ "$2" = "$3" ]; then passes=$((passes + 1)); else fail "$1 differ:"$'\n'"$2"$'\n'"vs"$'\n'"$3"; fi
}
expect_same_file() {
  if cmp -s "$1" "$2"; then passes=$((passes + 1)); else fail "$1 and $2 differ"; fi
}

# Learns: 8 epochs reach 90% on the test split; the last line is the test metrics.
expect_ok "${T[@]}" --epochs 8 --plot "$TMP/curves.svg"
expect_output "epoch 8/8: loss"
expect_output "val_accuracy"
last=$(tail -n 1 "$TMP/out")
if awk '{exit !($1 == "test:" && $2 == "loss" && $4 == "accuracy" && $5 >= 0.9)}' <<<"$last"; then
  passes=$((passes + 1))
else
  fail "expected 'test: loss L accuracy A' with A >= 0.9, got '$last'"
fi
if grep -q '</svg>' "$TMP/curves.svg"; then passes=$((passes + 1)); else fail "--plot wrote no SVG"; fi

# Determinism: the same seed gives the same losses and the same weights, bit for bit.
expect_ok "${T[@]}" --epochs 2 --checkpoint "$TMP/c1" -o "$TMP/w1.safetensors"
straight=$(epochs)
expect_ok "${T[@]}" --epochs 2 -o "$TMP/w1b.safetensors"
expect_same "epoch lines of two runs" "$straight" "$(epochs)"
expect_same_file "$TMP/w1.safetensors" "$TMP/w1b.safetensors"
expect_ok "${T[@]}" --epochs 2 --seed 1 -o "$TMP/w_seed1.safetensors"
if cmp -s "$TMP/w1.safetensors" "$TMP/w_seed1.safetensors"; then fail "--seed 1 trained the same weights as seed 0"; else passes=$((passes + 1)); fi

# The JIT: two runs with the same seed write the same weights, bit for bit.
J=("$DLC" train "$TMP/m.json" --data "$D" --backend jit --val-split 0.25 --epochs 2)
expect_ok "${J[@]}" -o "$TMP/wj1.safetensors"
expect_output "test: loss"
expect_ok "${J[@]}" -o "$TMP/wj2.safetensors"
expect_same_file "$TMP/wj1.safetensors" "$TMP/wj2.safetensors"

# Resume: 1 epoch, then --resume to 2 epochs = 2 epochs straight.
expect_ok "${T[@]}" --epochs 1 --checkpoint "$TMP/c2"
expect_ok "${T[@]}" --resume "$TMP/c2" --epochs 2 -o "$TMP/w2.safetensors"
expect_output "resumed from"
expect_same "epoch 2 after resume" "$(echo "$straight" | tail -n 1)" "$(epochs)"
expect_same_file "$TMP/w1.safetensors" "$TMP/w2.safetensors"

# Ctrl-C in the middle of epoch 2 (step 11 of 16) checkpoints; resuming finishes identically.
DLC_TEST_SIGINT_AT_STEP=11 "${T[@]}" --epochs 2 --checkpoint "$TMP/c3" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 130 ] && grep -qF "checkpoint written to $TMP/c3" "$TMP/err"; then
  passes=$((passes + 1))
else
  fail "Ctrl-C: expected exit 130 and a checkpoint, got $rc: $(cat "$TMP/err")"
fi
expect_ok "${T[@]}" --resume "$TMP/c3" -o "$TMP/w3.safetensors"
expect_output "batch 3/8"
expect_same "epoch 2 after Ctrl-C and resume" "$(echo "$straight" | tail -n 1)" "$(epochs)"
expect_same_file "$TMP/w1.safetensors" "$TMP/w3.safetensors"

# NaN: a huge learning rate stops with the step, the last good checkpoint and a hint; the
# checkpoint it names is left as it was.
cp "$TMP/c2/checkpoint.safetensors" "$TMP/c2.before"
expect_error "the last good checkpoint is $TMP/c2/checkpoint.safetensors" "${T[@]}" --resume "$TMP/c2" --epochs 3 --lr 1e30
expect_error "--lr" "${T[@]}" --lr 1e30
expect_same_file "$TMP/c2.before" "$TMP/c2/checkpoint.safetensors"

# Early stopping keeps the best validation epoch's weights.
expect_ok "${T[@]}" --epochs 40 --lr 0.3 --early-stopping 2
expect_output "early stopping: restored the weights of epoch"
expect_error "--early-stopping watches the validation loss" "$DLC" train "$TMP/m.json" --data "$D" --backend ref --early-stopping 2

# Eval: loss, accuracy and a 3x3 confusion matrix of the test split.
expect_ok "$DLC" eval "$TMP/m.json" --weights "$TMP/w1.safetensors" --data "$D" --backend ref
expect_output "test: 30 samples"
expect_output "accuracy"
expect_output "confusion matrix"
rows=$(grep -cE '^ +[0-2] +[0-9]+ +[0-9]+ +[0-9]+$' "$TMP/out")
expect_same "confusion rows" "$rows" 3

# Predict through the Runner in batches of 2 prints what the interpreter prints for all 3
# samples at once; --top-k 2 lists two classes per sample, best first.
python3 - "$TMP/x.npy" <<'EOF'
import struct, sys
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 16), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
data = [((200 if p // 6 == c else 30) + p) / 255.0 for c in (0, 1, 2) for p in range(16)]
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
                              struct.pack("<48f", *data))
EOF
expect_ok "$DLC" predict "$TMP/m.json" --weights "$TMP/w1.safetensors" --input "$TMP/x.npy"
plain=$(cat "$TMP/out")
expect_ok "$DLC" predict "$TMP/m.json" --weights "$TMP/w1.safetensors" --input "$TMP/x.npy" --batch 2 --backend ref
expect_same "predict in batches of 2" "$plain" "$(cat "$TMP/out")"
expect_ok "$DLC" predict "$TMP/m.json" --weights "$TMP/w1.safetensors" --input "$TMP/x.npy" --top-k 2
top=$(awk '{print $1, $2, $3, NF}' "$TMP/out" | tr '\n' ';')
expect_same "top-2 classes" "$top" "sample 0: 0 6;sample 1: 1 6;sample 2: 2 6;"

# Starting from weights (transfer learning): --weights takes the trained weights (and a
# training checkpoint, whose optimizer state it skips); a new head of 4 classes over the
# same base loads the base with --weights-partial and says what it initialised.
expect_ok "${T[@]}" --epochs 1 --weights "$TMP/w1.safetensors"
expect_output "weights $TMP/w1.safetensors: loaded 4 tensors"
expect_ok "${T[@]}" --epochs 1 --weights "$TMP/c1/checkpoint.safetensors"
expect_output "loaded 4 tensors; skipped 9 optimizer-state tensors"
expect_ok "$DLC" eval "$TMP/m.json" --data "$D" --backend ref --weights "$TMP/c1/checkpoint.safetensors"
grep -qF "note: $TMP/c1/checkpoint.safetensors is a training checkpoint: loaded 4 tensors; skipped 9" "$TMP/err" &&
  passes=$((passes + 1)) || fail "eval of a checkpoint: no note on stderr: $(cat "$TMP/err")"
model 4 0.05 >"$TMP/m4.json"
expect_error "tensor 'dense_2.kernel' has shape [8,3], the model's parameter is [8,4]" \
  "$DLC" train "$TMP/m4.json" --data "$D" --backend ref --weights "$TMP/w1.safetensors"
expect_ok "$DLC" train "$TMP/m4.json" --data "$D" --backend ref --epochs 1 --weights "$TMP/w1.safetensors" --weights-partial
expect_output "loaded 2 tensors; initialised 2 from the seed: dense_2.kernel, dense_2.bias; ignored 2: dense_2.kernel (shape [8,3], the model's is [8,4]), dense_2.bias (shape [3], the model's is [4])"
expect_error "--weights and --resume" "${T[@]}" --resume "$TMP/c1" --weights "$TMP/w1.safetensors"
# Transfer learning end to end (docs/training.md): split_classes.py keeps classes 2 and 1
# of the band data (labels 2 -> 0, 1 -> 1; class c is sample i mod 3 in the training set);
# a conv base trained on all three classes, frozen under a new head, loads partially and
# comes out of training unchanged, while the head trains.
expect_ok python3 "$SRC/examples/data/split_classes.py" "$D" "$TMP/split" --classes 2,1 --name two
expect_output "train: 64 of 96 samples (classes 2,1 -> 0..1)"
expect_output "test: 20 of 30 samples"
labels=$(python3 -c "
import struct, sys
b = open(sys.argv[1], 'rb').read(); h = struct.unpack('<H', b[8:10])[0]
print(*struct.unpack('<6i', b[10 + h:10 + h + 24]))" "$TMP/split/two_y_train.npy")
expect_same "first renumbered labels" "$labels" "1 0 1 0 1 0"
cat >"$TMP/base.json" <<'JSON'
{"name": "base", "input_shape": [4, 4, 1], "layers": [
 {"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "same", "activation": "relu"}, {"type": "flatten"},
 {"type": "dense", "units": 3, "activation": "softmax"}], "loss": "sparse_categorical_crossentropy",
 "optimizer": {"type": "adam", "lr": 0.05}, "batch_size": 8, "epochs": 2, "metrics": ["accuracy"]}
JSON
sed -e 's/"relu"}/"relu", "trainable": false}/' -e 's/"units": 3/"name": "new", "units": 2/' -e 's/"base"/"transfer"/' \
  "$TMP/base.json" >"$TMP/transfer.json"
expect_ok "$DLC" train "$TMP/base.json" --data "$D" -o "$TMP/base.safetensors"
TS="$TMP/split/two_x_train.npy,$TMP/split/two_y_train.npy,$TMP/split/two_x_test.npy,$TMP/split/two_y_test.npy"
expect_ok "$DLC" train "$TMP/transfer.json" --data "$TS" --weights "$TMP/base.safetensors" --weights-partial \
  -o "$TMP/transfer.safetensors"
expect_output "loaded 2 tensors; initialised 2 from the seed: new.kernel, new.bias; ignored 2: dense_1.bias (no such parameter), dense_1.kernel (no such parameter)"
tensor() { # tensor FILE NAME: the tensor's bytes as hex
  python3 -c "
import json, struct, sys
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
s, e = h[sys.argv[2]]['data_offsets']; print(b[8 + n + s:8 + n + e].hex())" "$1" "$2"
}
expect_same "the frozen conv kernel" "$(tensor "$TMP/base.safetensors" conv2d_1.kernel)" \
  "$(tensor "$TMP/transfer.safetensors" conv2d_1.kernel)"
expect_error "--weights-partial needs --weights" "${T[@]}" --weights-partial

# Autoencoders: --target input makes each image its own target, scaled as the input is
# (u8 / 255). A model whose output is all zeros has mse = mean((pixel / 255)^2) over the
# test split, computed here from the IDX file.
cat >"$TMP/zero_ae.json" <<'JSON'
{"name": "zero_ae", "input_shape": [4, 4, 1], "layers": [{"type": "flatten"},
 {"type": "dense", "units": 16, "kernel_initializer": "zeros", "bias_initializer": "zeros"},
 {"type": "reshape", "target_shape": [4, 4, 1]}], "loss": "mse", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 10}
JSON
expect_ok "$DLC" eval "$TMP/zero_ae.json" --data "$D" --target input --backend ref
want=$(python3 -c "
import sys
b = open(sys.argv[1], 'rb').read()[16:]
print('loss %.4f' % (sum((v / 255) ** 2 for v in b) / len(b)))" "$D/t10k-images-idx3-ubyte")
expect_same "an all-zero autoencoder's test loss" "$(grep '^loss' "$TMP/out")" "$want"
if grep -q "confusion" "$TMP/out"; then fail "an autoencoder's eval printed a confusion matrix"; else passes=$((passes + 1)); fi
expect_ok "$DLC" train "$TMP/zero_ae.json" --data "$TMP/split/two_x_train.npy,$TMP/split/two_x_test.npy" --target input \
  --epochs 3
expect_output "test: loss"
# Originals beside reconstructions (examples/data/images_png.py): 3 images of 4x4 at scale
# 2 with 2-pixel gaps, two rows; the PNG's first original pixel is the file's first byte.
expect_ok "$DLC" predict "$TMP/zero_ae.json" --input "$TMP/split/two_x_test.npy" -o "$TMP/recon.npy" --backend ref
expect_ok python3 "$SRC/examples/data/images_png.py" "$TMP/split/two_x_test.npy" "$TMP/recon.npy" -o "$TMP/ae.png" --count 3
png=$(python3 -c "
import struct, sys, zlib
b = open(sys.argv[1], 'rb').read(); assert b[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', b[16:24]); n = struct.unpack('>I', b[33:37])[0]
raw = zlib.decompress(b[41:41 + n]); x = open(sys.argv[2], 'rb').read()
first = x[10 + struct.unpack('<H', x[8:10])[0]]
print(w, h, len(raw) == h * (1 + w), raw[(1 + w) * 4 + 1 + 4] == first, raw[(1 + w) * 16 + 1 + 4] == 0)" \
  "$TMP/ae.png" "$TMP/split/two_x_test.npy")
expect_same "PNG size and pixels" "$png" "40 28 True True True"
expect_error "with --target input, expected x.npy or x.npy,x_test.npy" \
  "$DLC" train "$TMP/zero_ae.json" --data "$TMP/a.npy,$TMP/b.npy,$TMP/c.npy" --target input
expect_error "--target: expected 'input'" "$DLC" train "$TMP/zero_ae.json" --data "$D" --target labels
printf 'some text' >"$TMP/t.txt"
expect_error "--target input: text windows have no input-shaped targets" \
  "$DLC" eval "$SRC/examples/char_rnn.json" --data "text:$TMP/t.txt" --target input
# The example scripts' bad input: one line naming the file, exit 1.
script_error() { # script_error SUBSTRING CMD...
  local want=$1
  shift
  if "$@" >"$TMP/out" 2>"$TMP/err"; then
    fail "expected an error: $*"
  elif grep -qF "$want" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -le 1 ]; then
    passes=$((passes + 1))
  else
    fail "expected one line with '$want', got: $(cat "$TMP/err")"
  fi
}
script_error "split_classes.py: $TMP/none/train-images-idx3-ubyte(.gz) not found" \
  python3 "$SRC/examples/data/split_classes.py" "$TMP/none" "$TMP/x" --classes 1
script_error "not an .npy file" python3 "$SRC/examples/data/images_png.py" "$TMP/t.txt" -o "$TMP/x.png"
script_error "expected images [n, h, w] or [n, h, w, 1]" \
  python3 "$SRC/examples/data/images_png.py" "$TMP/split/two_y_test.npy" -o "$TMP/x.png"

# Bad input: each one line, exit 1.
expect_error "no such directory" "$DLC" train "$TMP/m.json" --data "$TMP/none" --backend ref
mkdir -p "$TMP/bad"
head -c 100 "$D/train-images-idx3-ubyte" >"$TMP/bad/train-images-idx3-ubyte"
cp "$D/train-labels-idx1-ubyte" "$TMP/bad/"
expect_error "train-images-idx3-ubyte" "$DLC" train "$TMP/m.json" --data "$TMP/bad" --backend ref
model 2 0.05 >"$TMP/m2.json"
expect_error "outside the 2 classes" "$DLC" train "$TMP/m2.json" --data "$D" --backend ref
sed 's/"input_shape": \[16\]/"input_shape": [25]/' "$TMP/m.json" >"$TMP/m25.json"
expect_error "samples have shape" "$DLC" train "$TMP/m25.json" --data "$D" --backend ref
cp "$TMP/c1/checkpoint.safetensors" "$TMP/c1.before"
sed 's/"units": 8/"units": 9/' "$TMP/m.json" >"$TMP/m9.json"
expect_error "the checkpoint is of another model" "$DLC" train "$TMP/m9.json" --data "$D" --backend ref --val-split 0.25 --resume "$TMP/c1"
expect_same_file "$TMP/c1.before" "$TMP/c1/checkpoint.safetensors"
expect_error "cannot open file" "${T[@]}" --resume "$TMP/nothing"
touch "$TMP/afile"
expect_error "--checkpoint $TMP/afile/ck: cannot create the directory" "${T[@]}" --checkpoint "$TMP/afile/ck"
head -c 200 "$TMP/c1/checkpoint.safetensors" >"$TMP/c4.safetensors"
mkdir -p "$TMP/c4" && mv "$TMP/c4.safetensors" "$TMP/c4/checkpoint.safetensors"
expect_error "damaged checkpoint" "${T[@]}" --resume "$TMP/c4"
expect_error "unknown backend 'gpu'" "${T[@]}" --backend gpu
finish
