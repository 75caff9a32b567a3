#!/usr/bin/env bash
# dlc gradcheck on every example model, dlc show --emit=train-graph (golden for xo), and
# the errors of models that cannot train.
source "$SRC/tests/lib.sh"

# The reference interpreter needs minutes for a model of VGG16's size (15 GFLOPs per
# sample); such models are checked by hand (docs/autodiff.md), the others here.
max_params=10000000
for m in "$SRC"/examples/*.json; do
  expect_ok "$DLC" show "$m" --emit=train-graph
  expect_output "output loss = %loss"
  params=$("$DLC" check "$m" | sed -n 's/.*, \([0-9,]*\) parameters.*/\1/p' | tr -d ,)
  if [ "${params:-0}" -gt "$max_params" ]; then
    echo "skip: gradcheck of $(basename "$m") ($params parameters)"
    continue
  fi
  expect_ok "$DLC" gradcheck "$m"
  expect_output "ok: every gradient checked is within"
done

# Golden: the training graph of the X/O classifier (UPDATE_GOLDEN=1 rewrites it).
golden="$SRC/tests/golden/train-graph/xo.txt"
"$DLC" show "$SRC/examples/xo.json" --emit=train-graph >"$TMP/xo.txt"
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$TMP/xo.txt" "$golden"; fi
if diff -u "$golden" "$TMP/xo.txt" >"$TMP/diff"; then
  passes=$((passes + 1))
else
  fail "train-graph of xo differs from $golden: $(head -c 1500 "$TMP/diff")"
fi

# Other seeds and batch sizes; a tolerance no f64 difference meets fails with one line.
expect_ok "$DLC" gradcheck "$SRC/examples/xo.json" --seed 7 --batch 3
expect_output "batch 3, seed 7"
expect_error "gradcheck failed: " "$DLC" gradcheck "$SRC/examples/mlp.json" --tol 1e-15
expect_error "--tol: expected a positive number" "$DLC" gradcheck "$SRC/examples/xo.json" --tol -1

# Models that cannot train.
cat >"$TMP/noloss.json" <<'JSON'
{"input_shape": [4], "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
JSON
expect_error "noloss.json: the model has no 'loss'; training needs one" "$DLC" gradcheck "$TMP/noloss.json"
expect_error "noloss.json: the model has no 'loss'; training needs one" "$DLC" show "$TMP/noloss.json" --emit=train-graph

cat >"$TMP/rank4.json" <<'JSON'
{"input_shape": [6, 6, 1], "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3}],
 "loss": "categorical_crossentropy"}
JSON
# Refused when the model is loaded, at the loss's location, before any graph is built.
expect_error "rank4.json:2:10: loss: loss 'categorical_crossentropy' does not fit output 'conv2d_1' of shape [4,4,2] per sample: it needs an output of shape [batch, classes]" \
  "$DLC" gradcheck "$TMP/rank4.json"

cat >"$TMP/oneunit.json" <<'JSON'
{"input_shape": [3], "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}],
 "loss": "sparse_categorical_crossentropy"}
JSON
expect_error "oneunit.json:2:10: loss: loss 'sparse_categorical_crossentropy' does not fit output 'dense_1' of shape [1] per sample: it needs at least 2 classes" \
  "$DLC" show "$TMP/oneunit.json" --emit=train-graph

# Losses other than the examples' on small models: every head and loss combination.
for spec in 'sigmoid|binary_crossentropy' 'tanh|binary_crossentropy' 'linear|mse' \
            'softmax|sparse_categorical_crossentropy' 'relu|categorical_crossentropy' \
            'log_softmax|categorical_crossentropy' 'sigmoid|sparse_categorical_crossentropy'; do
  act=${spec%|*}
  loss=${spec#*|}
  cat >"$TMP/m.json" <<JSON
{"input_shape": [5], "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
  {"type": "dropout", "rate": 0.3},
  {"type": "dense", "units": 3, "activation": "$act"}], "loss": "$loss"}
JSON
  expect_ok "$DLC" gradcheck "$TMP/m.json" --batch 4
  expect_output "ok: every gradient checked is within"
done

# Initial states from other layers' outputs (docs/recurrent.md): an encoder's last state
# through a dense bridge into a decoder GRU, dense layers of a context input into an
# LSTM's h0 and c0. The gradient reaches the layers that made the states, and both compile.
cat >"$TMP/enc_dec.json" <<'JSON'
{"name": "enc_dec", "inputs": [{"name": "src", "shape": [4, 3]}, {"name": "tgt", "shape": [5, 3]}], "outputs": "out",
 "layers": [{"type": "gru", "name": "enc", "inputs": "src", "units": 6},
   {"type": "dense", "name": "bridge", "inputs": "enc", "units": 6, "activation": "tanh"},
   {"type": "gru", "name": "dec", "inputs": ["tgt", "bridge"], "units": 6},
   {"type": "dense", "name": "out", "inputs": "dec", "units": 2, "activation": "softmax"}],
 "loss": "categorical_crossentropy", "batch_size": 4}
JSON
cat >"$TMP/lstm_ctx.json" <<'JSON'
{"name": "lstm_ctx", "inputs": [{"name": "seq", "shape": [5, 3]}, {"name": "ctx", "shape": [2]}], "outputs": "out",
 "layers": [{"type": "dense", "name": "h0", "inputs": "ctx", "units": 4, "activation": "tanh"},
   {"type": "dense", "name": "c0", "inputs": "ctx", "units": 4},
   {"type": "lstm", "name": "rnn", "inputs": ["seq", "h0", "c0"], "units": 4},
   {"type": "dense", "name": "out", "inputs": "rnn", "units": 2, "activation": "softmax"}],
 "loss": "categorical_crossentropy", "batch_size": 4}
JSON
for m in enc_dec:bridge.kernel lstm_ctx:c0.kernel; do
  expect_ok "$DLC" gradcheck "$TMP/${m%%:*}.json"
  expect_output "ok: every gradient checked is within"
  if grep -qE "^${m#*:} +f32\[[0-9,]+\] +[1-9][0-9]*/" "$TMP/out"; then passes=$((passes + 1)); else
    fail "${m%%:*}: no gradient checked for ${m#*:}: $(cat "$TMP/out")"; fi
  mkdir -p "$TMP/${m%%:*}"
  expect_ok "$DLC" compile "$TMP/${m%%:*}.json" -o "$TMP/${m%%:*}/net.cpp" --train
done
finish
