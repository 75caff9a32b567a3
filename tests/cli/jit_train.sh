#!/usr/bin/env bash
# `dlc train --backend jit` against `--backend ref` (the interpreter) end to end, on a tiny
# generated IDX data set whose last batch is partial: every epoch's loss and accuracy
# agree; a JIT run resumed from a checkpoint (parameters, Adam's state, step, seed)
# ends with the weights of one never interrupted, bit for bit.
source "$SRC/tests/lib.sh"
D="$TMP/data"
band_idx_data "$D" # 96 training and 30 test samples of 3 classes
# 72 training samples in batches of 10: the eighth batch has 2.
cat >"$TMP/m.json" <<'EOF'
{"name": "tiny", "input_shape": [16],
 "layers": [{"type": "dense", "units": 12, "activation": "relu"}, {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 3, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01},
 "batch_size": 10, "epochs": 3, "metrics": ["accuracy"]}
EOF
run() { # run BACKEND ARGS...: trains; the epoch and test lines without timings go to $TMP/lines.BACKEND
  local b=$1
  shift
  expect_ok "$DLC" train "$TMP/m.json" --data "$D" --val-split 0.25 --backend "$b" "$@"
  grep -E '^(epoch|test)' "$TMP/out" | sed 's/ (.*)$//' >"$TMP/lines.$b"
}
run ref
run jit
# Same words; numbers within 2e-4 (they print with 4 decimals).
if paste -d'|' "$TMP/lines.ref" "$TMP/lines.jit" | awk -F'|' '
    { n = split($1, a, " "); m = split($2, b, " "); if (n != m) bad = 1
      for (i = 1; i <= n; i++) {
        if (a[i] ~ /^-?[0-9.]+$/) { d = a[i] - b[i]; if (d < -2e-4 || d > 2e-4) bad = 1 }
        else if (a[i] != b[i]) bad = 1 } }
    END { exit bad || NR == 0 }'; then
  passes=$((passes + 1))
else
  fail "JIT and interpreter epochs differ:"$'\n'"$(cat "$TMP/lines.ref")"$'\n'"vs"$'\n'"$(cat "$TMP/lines.jit")"
fi
echo "ref: $(tail -n 1 "$TMP/lines.ref")   jit: $(tail -n 1 "$TMP/lines.jit")"

# Resume: 1 epoch with a checkpoint, then --resume to 3 = 3 epochs straight.
run jit -o "$TMP/straight.safetensors"
run jit --epochs 1 --checkpoint "$TMP/ck"
run jit --resume "$TMP/ck" --epochs 3 -o "$TMP/resumed.safetensors"
expect_output "resumed from"
if cmp -s "$TMP/straight.safetensors" "$TMP/resumed.safetensors"; then
  passes=$((passes + 1))
else
  fail "a resumed JIT run ends with other weights than one never interrupted"
fi
finish
