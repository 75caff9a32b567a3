#!/usr/bin/env bash
# The model's metrics in training, validation, test and eval (only those it lists); the
# course's first Keras demo (mse on a softmax with class labels); --history; the loss and
# metrics checked against the output; reduce_on_plateau and its checkpoint.
source "$SRC/tests/lib.sh"

# npy PATH KIND SHAPE VALUES...: KIND i4 (int32) or f4 (float32).
npy() {
  python3 - "$@" <<'PY'
import struct, sys
path, kind, shape = sys.argv[1], sys.argv[2], tuple(int(v) for v in sys.argv[3].split(","))
fmt = {"i4": "i", "f4": "f"}[kind]
vals = [float(v) if kind == "f4" else int(v) for v in sys.argv[4:]]
h = "{'descr': '<%s', 'fortran_order': False, 'shape': (%s), }" % (kind, "".join("%d," % d for d in shape))
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() +
                       struct.pack("<%d%s" % (len(vals), fmt), *vals))
PY
}

# 60 samples of 16 values in [0, 1] in 3 classes (class c: a bright band at [5c, 5c+5)).
N=60
read -r -a PIX <<<"$(python3 -c "
print(' '.join('%.4f' % (min(255, (190 if p // 5 == (i * 7) % 3 else 40) + (i * 37 + p * 53) % 90) / 255)
               for i in range($N) for p in range(16)))")"
read -r -a LAB <<<"$(python3 -c "print(' '.join(str((i * 7) % 3) for i in range($N)))")"
read -r -a BIN <<<"$(python3 -c "print(' '.join(str(int((i * 7) % 3 == 0)) for i in range($N)))")"
npy "$TMP/x.npy" f4 $N,16 "${PIX[@]}"
npy "$TMP/y.npy" i4 $N "${LAB[@]}"
npy "$TMP/yb.npy" i4 $N "${BIN[@]}"
D3="$TMP/x.npy,$TMP/y.npy"

# model NAME UNITS ACTIVATION LOSS EXTRA: a 16-8-UNITS network; EXTRA adds members.
model() {
  echo '{"name": "'"$1"'", "input_shape": [16], "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
    {"type": "dense", "units": '"$2"', "activation": "'"$3"'"}], "loss": "'"$4"'",
    "optimizer": {"type": "adam", "lr": 0.05}, "batch_size": 10, "epochs": 6'"$5"'}' >"$TMP/$1.json"
}

# --- The course's first Keras demo: mse on a softmax, class labels, accuracy reported ---
model demo 3 softmax mse ', "metrics": ["accuracy"]'
expect_ok "$DLC" train "$TMP/demo.json" --data "$D3" --val-split 0.2 -o "$TMP/demo.safetensors"
expect_output "epoch 6/6: loss "
expect_output " accuracy "
expect_output " val_accuracy "
expect_ok "$DLC" eval "$TMP/demo.json" --data "$D3" --weights "$TMP/demo.safetensors"
acc=$(sed -n 's/^loss [0-9.]* accuracy \([0-9.]*\)$/\1/p' "$TMP/out")
[ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' || fail "demo: eval accuracy '$acc', expected >= 0.9: $(cat "$TMP/out")"
expect_output "confusion matrix"

# --- Without metrics: the loss only, as Keras prints it ---
model plain 3 softmax sparse_categorical_crossentropy ''
expect_ok "$DLC" train "$TMP/plain.json" --data "$D3" --val-split 0.2 --epochs 1
grep -q accuracy "$TMP/out" && fail "a model without metrics printed accuracy: $(cat "$TMP/out")"
expect_output "epoch 1/1: loss "
expect_output " val_loss "

# --- An autoencoder with mse and mae: no accuracy, the metric it asks for ---
echo '{"name": "ae", "input_shape": [16], "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
  {"type": "dense", "units": 16, "activation": "sigmoid"}], "loss": "mse", "metrics": ["mae"],
  "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 10, "epochs": 2}' >"$TMP/ae.json"
expect_ok "$DLC" train "$TMP/ae.json" --data "$TMP/x.npy,$TMP/x.npy"
expect_output "epoch 2/2: loss "
expect_output " mae "
grep -q accuracy "$TMP/out" && fail "the autoencoder printed accuracy: $(cat "$TMP/out")"

# --- A binary task: precision, recall and auc, in training, validation and eval ---
model bin 1 sigmoid binary_crossentropy ', "metrics": ["accuracy", "precision", "recall", "auc"]'
expect_ok "$DLC" train "$TMP/bin.json" --data "$TMP/x.npy,$TMP/yb.npy" --val-split 0.2 -o "$TMP/bin.safetensors"
for m in " precision " " recall " " auc " " val_precision " " val_recall " " val_auc "; do expect_output "$m"; done
expect_ok "$DLC" eval "$TMP/bin.json" --data "$TMP/x.npy,$TMP/yb.npy" --weights "$TMP/bin.safetensors"
grep -qE '^loss [0-9.]+ accuracy [0-9.]+ precision [0-9.]+ recall [0-9.]+ auc [0-9.]+$' "$TMP/out" ||
  fail "eval of the binary model: $(cat "$TMP/out")"

# --- Sparse cross-entropy on an output without softmax trains on every backend ---
model sig3 3 sigmoid sparse_categorical_crossentropy ', "metrics": ["accuracy"]'
for backend in jit ref; do
  expect_ok "$DLC" train "$TMP/sig3.json" --data "$D3" --epochs 1 --backend $backend
  expect_output "epoch 1/1: loss "
done

# --- --history: CSV, or JSON by extension, a row per epoch ---
expect_ok "$DLC" train "$TMP/demo.json" --data "$D3" --val-split 0.2 --epochs 3 --history "$TMP/h.csv"
[ "$(head -1 "$TMP/h.csv")" = "epoch,loss,accuracy,val_loss,val_accuracy,lr,time" ] ||
  fail "history header: $(head -1 "$TMP/h.csv")"
[ "$(wc -l <"$TMP/h.csv")" = 4 ] || fail "history rows: $(cat "$TMP/h.csv")"
# Its losses are the epoch lines' (4 decimals there).
printed=$(sed -n 's/^epoch 3\/3: loss \([0-9.]*\) .*/\1/p' "$TMP/out")
written=$(awk -F, 'NR == 4 { printf "%.4f", $2 }' "$TMP/h.csv")
[ "$printed" = "$written" ] || fail "history loss $written, epoch line $printed"
expect_ok "$DLC" train "$TMP/bin.json" --data "$TMP/x.npy,$TMP/yb.npy" --epochs 2 --history "$TMP/h.json"
python3 - "$TMP/h.json" <<'PY' || fail "history JSON: $(cat "$TMP/h.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert list(h) == ["epoch", "loss", "accuracy", "precision", "recall", "auc", "lr", "time"], list(h)
assert all(len(v) == 2 for v in h.values()) and h["epoch"] == [1, 2] and h["lr"] == [0.05, 0.05]
PY

# --- reduce_on_plateau: monitor the loss, no improvement counts (min_delta 100) ---
model rop 3 softmax sparse_categorical_crossentropy ', "metrics": ["accuracy"]'
sed -i 's/"optimizer": {"type": "adam", "lr": 0.05}/"optimizer": {"type": "adam", "lr": 0.05, "reduce_on_plateau": {"monitor": "loss", "patience": 1, "factor": 0.5, "min_delta": 100}}/' "$TMP/rop.json"
expect_ok "$DLC" train "$TMP/rop.json" --data "$D3" --epochs 4 --history "$TMP/rop.csv"
# Epoch 1 sets the best; 2, 3 and 4 do not improve: the rate halves after each.
expect_output "epoch 2: reduce_on_plateau: loss did not improve for 1 epoch; learning rate 0.05 -> 0.025"
lrs=$(awk -F, 'NR > 1 { printf "%s ", $(NF - 1) }' "$TMP/rop.csv")
[ "$lrs" = "0.05 0.05 0.025 0.0125 " ] || fail "reduce_on_plateau rates per epoch: '$lrs'"
# Interrupted in epoch 3 and resumed: the same rates and losses as the run in one go.
DLC_TEST_SIGINT_AT_STEP=13 "$DLC" train "$TMP/rop.json" --data "$D3" --epochs 4 --checkpoint "$TMP/ck" \
  --history "$TMP/rop2.csv" >"$TMP/out" 2>"$TMP/err"
[ $? = 130 ] || fail "interrupted run: $(cat "$TMP/err")"
expect_ok "$DLC" train "$TMP/rop.json" --data "$D3" --resume "$TMP/ck" --history "$TMP/rop2.csv"
cut -d, -f1-4 "$TMP/rop.csv" >"$TMP/a"
cut -d, -f1-4 "$TMP/rop2.csv" >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "resumed history differs: $(cat "$TMP/a") vs $(cat "$TMP/b")"
# val_loss (the default) needs a validation split.
sed 's/"monitor": "loss", //' "$TMP/rop.json" >"$TMP/rop_val.json"
expect_error "rop_val.json:3:68: optimizer.reduce_on_plateau: reduce_on_plateau monitors 'val_loss', a validation value: add --val-split F" \
  "$DLC" train "$TMP/rop_val.json" --data "$D3"
# The emitted trainer does not apply it, and dlc compile says so.
expect_ok "$DLC" compile "$TMP/rop.json" --train -o "$TMP/rop_net.cpp"
grep -q "warning: .*rop.json:3:68: optimizer.reduce_on_plateau: the emitted training code does not apply reduce_on_plateau" "$TMP/err" ||
  fail "compile --train of a reduce_on_plateau model: no warning: $(cat "$TMP/err")"
[ -f "$TMP/rop_net.cpp" ] || fail "compile wrote no code"

finish
