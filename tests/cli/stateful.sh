#!/usr/bin/env bash
# dlc train with a stateful recurrent layer (docs/recurrent.md, "State across batches"):
# the samples keep their order, the partial last batch is left out (and said so), the
# weights file holds no state; a partial batch through dlc predict is one clear error.
source "$SRC/tests/lib.sh"

cat >"$TMP/stateful.json" <<'JSON'
{
  "name": "stateful_char",
  "input_shape": [8],
  "layers": [
    {"type": "embedding", "input_dim": 96, "output_dim": 8},
    {"type": "lstm", "name": "l", "units": 16, "return_sequences": true, "stateful": true},
    {"type": "time_distributed", "layer": {"type": "dense", "units": 96, "activation": "softmax"}}
  ],
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
}
JSON
python3 -c "print(('the quick brown fox jumps over the lazy dog. ' * 8)[:330])" >"$TMP/text.txt"
expect_ok "$DLC" train "$TMP/stateful.json" --data "text:$TMP/text.txt" --epochs 2 -o "$TMP/w.safetensors"
expect_output "stateful layers: the samples keep their order (no shuffling)"
expect_output "states are reset at the start of every epoch and of every evaluation"
expect_output "epoch 2/2: loss"
if grep -q "state_h\|state_c" "$TMP/w.safetensors"; then
  fail "the weights file holds a stateful layer's state"
else
  passes=$((passes + 1))
fi

npy() { # npy PATH f4 SHAPE VALUES...: a float32 array
  python3 - "$@" <<'PY'
import struct, sys
path, shape = sys.argv[1], tuple(int(v) for v in sys.argv[3].split(","))
vals = [float(v) for v in sys.argv[4:]]
h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d," % d for d in shape)
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%df" % len(vals), *vals))
PY
}
# Three samples for a model compiled for batches of 2: the last call would have one.
npy "$TMP/x3.npy" f4 3,8 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8
expect_error "stateful layers runs whole batches of 2" \
  "$DLC" predict "$TMP/stateful.json" --weights "$TMP/w.safetensors" --input "$TMP/x3.npy" --batch 2 --backend jit

finish
