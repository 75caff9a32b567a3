#!/usr/bin/env bash
# Keras's model JSON (model.to_json(), Keras 2.x) from the command line: every command
# that takes a model reads it (dlc check, summary, show), dlc import writes it as dlc's
# format with the same graph, and a loss added to the imported file trains; bad input is
# one error line. The fixtures are written by hand in Keras 2.13's format (Keras is not
# packaged here); tests/unit/frontend_keras_test.cpp compares their graphs layer by layer.
source "$SRC/tests/lib.sh"
K="$SRC/tests/fixtures/keras"
expect_ok "$DLC" check "$K/cnn_sequential.json"
expect_output "ok: model 'keras_cnn', 8 layers, 43,738 parameters, f32[1,28,28,1] -> f32[1,10]"
expect_ok "$DLC" import "$K/seq2seq_functional.json" -o "$TMP/s2s.json"
expect_output "wrote $TMP/s2s.json (from Keras's model JSON"
expect_ok "$DLC" show "$K/seq2seq_functional.json"
cp "$TMP/out" "$TMP/keras_graph"
expect_ok "$DLC" show "$TMP/s2s.json"
cmp -s "$TMP/out" "$TMP/keras_graph" && passes=$((passes + 1)) || fail "the imported model's graph differs from the Keras file's"
# The imported file trains once it has a loss: a few steps on random sequences.
python3 - "$TMP/s2s.json" "$TMP" <<'PY'
import json, random, struct, sys
m = json.load(open(sys.argv[1]))
m["loss"] = "sparse_categorical_crossentropy"
m["optimizer"] = {"type": "adam", "lr": 0.01}
m["batch_size"] = 8
json.dump(m, open(sys.argv[1], "w"))
rng = random.Random(1)
def npy(path, shape, values, descr, fmt):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join("%d," % d for d in shape))
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%d%s" % (len(values), fmt), *values))
npy(sys.argv[2] + "/src.npy", (32, 5, 3), [rng.random() for _ in range(32 * 15)], "<f4", "f")
npy(sys.argv[2] + "/tgt.npy", (32, 4, 3), [rng.random() for _ in range(32 * 12)], "<f4", "f")
npy(sys.argv[2] + "/out.npy", (32,), [rng.randrange(3) for _ in range(32)], "<i4", "i")
PY
expect_ok "$DLC" train "$TMP/s2s.json" --data "src=$TMP/src.npy,tgt=$TMP/tgt.npy,out=$TMP/out.npy" --epochs 2
expect_output "epoch 2/2: loss"
# Keras's HDF5 weights (model.save_weights, written by make_keras_h5.py in Keras 2's
# layout): every --weights (predict, eval, train, compile) reads them through load_weights.
python3 -c "
import struct, sys
h = \"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28, 1), }\"
h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + '\n'
open('$TMP/img.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + struct.pack('<784f', *[i / 784 for i in range(784)]))"
expect_ok "$DLC" predict "$K/cnn_sequential.json" --weights "$K/cnn_sequential.h5" --input "$TMP/img.npy" -o "$TMP/p.npy"
expect_error "not_keras.h5: Keras HDF5 weights: no 'layer_names' attribute" \
  "$DLC" predict "$K/cnn_sequential.json" --weights "$K/not_keras.h5" --input "$TMP/img.npy"
head -c 3000 "$K/cnn_sequential.h5" >"$TMP/cut.h5"
expect_error "cut.h5: Keras HDF5 weights:" "$DLC" predict "$K/cnn_sequential.json" --weights "$TMP/cut.h5" --input "$TMP/img.npy"

# Bad input: not a Keras file, an unsupported layer, a missing -o.
expect_error "not a Keras model JSON" "$DLC" import "$SRC/examples/mlp.json" -o "$TMP/x.json"
printf '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "x",
  "batch_input_shape": [null, 2]}}]}}' >"$TMP/lambda.json"
expect_error "layer 'x': layer class 'Lambda' has no dlc counterpart here" "$DLC" check "$TMP/lambda.json"
expect_error "dlc import: -o OUT.json is required" "$DLC" import "$K/cnn_sequential.json"
[ ! -e "$TMP/x.json" ] && passes=$((passes + 1)) || fail "a failed import wrote its output"
finish
