#!/usr/bin/env bash
# ONNX from the command line: models exported by PyTorch 1.13 (tests/fixtures/onnx/,
# committed) are read by every command (check, predict, show, train, compile), dlc import
# writes them as dlc's JSON and safetensors with the same outputs, the compiled graph has
# no transpose and folds the batch normalisation, an imported CNN fine-tuned on
# Fashion-MNIST with a loss given on the command line reaches the accuracy of the same
# CNN written in dlc's JSON, and it compiles to standalone training C++ that builds
# warning-free and trains. Bad input is one error line.
source "$SRC/tests/lib.sh"
O="$SRC/tests/fixtures/onnx"
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "skipped: needs numpy for /usr/bin/python3 (python3-numpy; scripts/install-deps.sh installs it)"
  exit "$SKIPPED"
fi

expect_ok "$DLC" check "$O/cnn.onnx"
expect_output "cnn.onnx: ok: model 'torch_jit', 7 layers, 20,042 parameters, f32[1,28,28,1] -> f32[1,10]"
expect_ok "$DLC" import "$O/cnn.onnx" -o "$TMP/cnn.json" --weights-out "$TMP/cnn.safetensors"
expect_output "input x: NCHW [1, 28, 28] -> dlc 'x' NHWC [28, 28, 1]"

# PyTorch's outputs: the JIT on the .onnx file itself, the reference interpreter on the
# imported JSON + safetensors. The fixture's input is NCHW; dlc takes NHWC.
"$PY" -c "
import numpy as np
for n in ['cnn', 'residual', 'generator']:
    x = np.load('$O/' + n + '.x.npy')
    np.save('$TMP/' + n + '.x.npy', np.ascontiguousarray(x.transpose(0, 2, 3, 1) if x.ndim == 4 else x))"
compare() { # compare NAME OUT.npy: dlc's output against PyTorch's, to 1e-5
  "$PY" -c "
import numpy as np, sys
y = np.load('$O/$1.y.npy'); d = np.load('$2')
if y.ndim == 4: y = y.transpose(0, 2, 3, 1)
err = float(np.abs(y - d).max()) if y.shape == d.shape else float('inf')
sys.exit(0 if err < 1e-5 else print('$1: max difference', err, y.shape, d.shape) or 1)" &&
    passes=$((passes + 1)) || fail "$1: dlc's output differs from PyTorch's"
}
for n in cnn residual generator; do
  expect_ok "$DLC" predict "$O/$n.onnx" --input "$TMP/$n.x.npy" --backend jit -o "$TMP/$n.jit.npy"
  compare "$n" "$TMP/$n.jit.npy"
done
expect_ok "$DLC" predict "$TMP/cnn.json" --weights "$TMP/cnn.safetensors" --input "$TMP/cnn.x.npy" --backend ref -o "$TMP/cnn.ref.npy"
compare cnn "$TMP/cnn.ref.npy"

# No transpose is left: the NCHW -> NHWC permutation went into the weights; the batch
# normalisation after a Gemm folds into that dense layer's weights at inference.
expect_ok "$DLC" show "$O/cnn.onnx" --emit=clean-graph
grep -q transpose "$TMP/out" && fail "a transpose in the compiled graph" || passes=$((passes + 1))
expect_ok "$DLC" show "$O/batchnorm.onnx" --emit=clean-graph
expect_output "kernel.folded"
grep -q "batch_normalization_1.normalized\|rsqrt" "$TMP/out" && fail "the batch normalisation was not folded" || passes=$((passes + 1))

# Fine-tuning: the loss and optimizer on the command line (the export has neither), the
# logits of PyTorch's last Linear taken by the loss (--from-logits).
DATA=/usr/share/datasets/fashion-mnist
if [ -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
  expect_ok "$DLC" train "$O/cnn.onnx" --data fashion-mnist --loss categorical_crossentropy --from-logits \
    --optimizer adam --metrics accuracy --epochs 3 --batch 64 -o "$TMP/tuned.safetensors"
  expect_output "weights: the 8 parameters of $O/cnn.onnx"
  onnx_acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$TMP/out")
  "$PY" -c "
import json
m = json.load(open('$TMP/cnn.json'))
m['layers'][-1]['activation'] = 'softmax'
m.update(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'], batch_size=64)
json.dump(m, open('$TMP/cnn_dlc.json', 'w'))"
  # The same architecture written in dlc's JSON, from dlc's own initial weights.
  expect_ok "$DLC" train "$TMP/cnn_dlc.json" --data fashion-mnist --epochs 3
  json_acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$TMP/out")
  awk -v a="$onnx_acc" -v b="$json_acc" 'BEGIN { exit !(a > 0.84 && a >= b - 0.01) }' && passes=$((passes + 1)) ||
    fail "fine-tuned ONNX CNN: test accuracy $onnx_acc, the dlc JSON CNN $json_acc"
  # The same fine-tuning as a --training file.
  printf '{"loss": {"type": "categorical_crossentropy", "from_logits": true}, "optimizer": {"type": "adam", "lr": 0.001}, "metrics": ["accuracy"], "batch_size": 128}' >"$TMP/train.json"
  expect_ok "$DLC" eval "$O/cnn.onnx" --weights "$TMP/tuned.safetensors" --training "$TMP/train.json" --data fashion-mnist
  expect_output "accuracy $onnx_acc"
else
  echo "note: no Fashion-MNIST in $DATA: the fine-tuning part is not run"
fi

# Standalone training C++ from the ONNX file: builds with -Wall -Wextra -Werror and trains.
expect_ok "$DLC" compile "$O/mlp.onnx" --train --loss sparse_categorical_crossentropy --optimizer adam -o "$TMP/net.cpp" --emit-main
"$PY" -c "
import numpy as np
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 20)).astype(np.float32)
np.save('$TMP/x.npy', x); np.save('$TMP/y.npy', (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0))"
if g++ -std=c++17 -O1 -Wall -Wextra -Werror "$TMP/net.cpp" -o "$TMP/net" -lpthread 2>"$TMP/cc"; then
  passes=$((passes + 1))
  expect_ok "$TMP/net" train "$TMP/x.npy" "$TMP/y.npy" --epochs 30
  expect_output "epoch 30"
else
  fail "the emitted C++ of mlp.onnx does not build: $(head -c 600 "$TMP/cc")"
fi

# from_logits: a linear output with the loss's own softmax trains exactly as the same
# model with a softmax output (same initial weights, same fused kernel): identical losses.
printf '{"input_shape": [20], "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3, "activation": "%s"}], "loss": "sparse_categorical_crossentropy", "optimizer": "adam", "batch_size": 16}' softmax >"$TMP/soft.json"
printf '{"input_shape": [20], "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3, "activation": "%s"}], "loss": {"type": "sparse_categorical_crossentropy", "from_logits": true}, "optimizer": "adam", "batch_size": 16}' linear >"$TMP/logits.json"
expect_ok "$DLC" train "$TMP/soft.json" --data "$TMP/x.npy,$TMP/y.npy" --epochs 3
grep '^epoch 3/3' "$TMP/out" | sed 's/ (.*//' >"$TMP/soft.loss"
expect_ok "$DLC" train "$TMP/logits.json" --data "$TMP/x.npy,$TMP/y.npy" --epochs 3
grep '^epoch 3/3' "$TMP/out" | sed 's/ (.*//' >"$TMP/logits.loss"
[ -s "$TMP/soft.loss" ] && cmp -s "$TMP/soft.loss" "$TMP/logits.loss" && passes=$((passes + 1)) ||
  fail "from_logits: $(cat "$TMP/logits.loss") vs softmax output: $(cat "$TMP/soft.loss")"
expect_error "from_logits: mse compares the output itself" "$DLC" train "$O/mlp.onnx" --data fashion-mnist --loss mse --from-logits

# Export: dlc's own models as ONNX, valid for python3-onnx's checker, read back by dlc
# with the same outputs; PyTorch's CNN through import -> export -> import still gives
# PyTorch's outputs.
"$PY" -c "
import numpy as np
rng = np.random.default_rng(3)
np.save('$TMP/img.npy', rng.random((4, 28, 28, 1), dtype=np.float32))
np.save('$TMP/res.npy', rng.random((4, 16, 16, 3), dtype=np.float32))"
for pair in cnn:img residual:res; do
  name=${pair%%:*}
  input=$TMP/${pair##*:}.npy
  expect_ok "$DLC" export "$SRC/examples/$name.json" -o "$TMP/$name.export.onnx"
  expect_output "wrote $TMP/$name.export.onnx (ONNX opset 13"
  if "$PY" -c 'import onnx' 2>/dev/null; then
    "$PY" -c "import onnx; onnx.checker.check_model(onnx.load('$TMP/$name.export.onnx'), full_check=True)" 2>"$TMP/check" &&
      passes=$((passes + 1)) || fail "$name: the ONNX checker refuses dlc's export: $(tail -c 600 "$TMP/check")"
  else
    echo "note: python3-onnx is missing: the exported files are not checked by ONNX's checker"
  fi
  expect_ok "$DLC" predict "$SRC/examples/$name.json" --input "$input" --backend ref -o "$TMP/$name.a.npy"
  expect_ok "$DLC" predict "$TMP/$name.export.onnx" --input "$input" --backend ref -o "$TMP/$name.b.npy"
  "$PY" -c "
import numpy as np, sys
a, b = np.load('$TMP/$name.a.npy'), np.load('$TMP/$name.b.npy')
sys.exit(0 if a.shape == b.shape and np.abs(a - b).max() < 1e-6 else 1)" && passes=$((passes + 1)) ||
    fail "$name: the exported model's outputs differ from dlc's"
done
expect_ok "$DLC" export "$O/cnn.onnx" -o "$TMP/cnn.rt.onnx"
expect_ok "$DLC" predict "$TMP/cnn.rt.onnx" --input "$TMP/cnn.x.npy" --backend jit -o "$TMP/cnn.rt.npy"
compare cnn "$TMP/cnn.rt.npy"
expect_error "type 'lstm' is not exported to ONNX yet" "$DLC" export "$SRC/examples/lstm_small.json" -o "$TMP/l.onnx"
expect_error "dlc export: -o OUT.onnx is required" "$DLC" export "$SRC/examples/cnn.json"

# Bad input.
expect_error "3 problems dlc cannot import: node '/grouped/Conv' (Conv): group 2 with 4 input channels" \
  "$DLC" check "$O/unsupported.onnx"
expect_error "node '/Sin' (Sin): no dlc layer computes it" "$DLC" import "$O/unsupported.onnx" -o "$TMP/u.json"
[ ! -e "$TMP/u.json" ] && passes=$((passes + 1)) || fail "a failed import wrote its output"
head -c 1000 "$O/cnn.onnx" >"$TMP/truncated.onnx"
expect_error "truncated.onnx: not an ONNX model" "$DLC" summary "$TMP/truncated.onnx"
expect_error "no-such.onnx: cannot open file" "$DLC" check "$TMP/no-such.onnx"
expect_error "--optimizer, --metrics and --from-logits come with --loss" "$DLC" train "$O/mlp.onnx" --data fashion-mnist --optimizer adam
printf '{"loss": "mse", "layers": []}' >"$TMP/bad_training.json"
expect_error "bad_training.json" "$DLC" train "$O/mlp.onnx" --data fashion-mnist --training "$TMP/bad_training.json"
expect_error "--loss/--optimizer/--metrics" "$DLC" train "$O/mlp.onnx" --data fashion-mnist --loss hinge
expect_error "a Keras model JSON holds no weights" "$DLC" import "$SRC/tests/fixtures/keras/cnn_sequential.json" -o "$TMP/k.json" --weights-out "$TMP/k.safetensors"
finish
