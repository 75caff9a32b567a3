#!/usr/bin/env bash
# `dlc train --backend jit` against `--backend ref` (the interpreter) end to end, on a tiny
# generated IDX data set whose last batch is partial: every epoch's loss and accuracy
# agree; a JIT run resumed from a checkpoint (parameters, Adam's state, step, seed)
# ends with the weights of one never interrupted, bit for bit.
source "$SRC/tests/lib.sh"
D="$TMP/data"
mkdir -p "$D"
# 3 classes of 4x4 u8 images: class c has a bright band in pixels [6c, 6c+6).
python3 - "$D" <<'EOF'
import os, struct, sys
d = sys.argv[1]
def write(prefix, n, seed):
    imgs, labels = bytearray(), bytearray()
    for i in range(n):
        c = (i * 7 + seed) % 3
        for p in range(16):
            imgs.append((200 if p // 6 == c else 30) + (i * 31 + p * 17 + seed) % 50)
        labels.append(c)
    open(os.path.join(d, prefix + "-images-idx3-ubyte"), "wb").write(struct.pack(">IIII", 0x803, n, 4, 4) + imgs)
    open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "wb").write(struct.pack(">II", 0x801, n) + labels)
write("train", 96, 0)
write("t10k", 30, 5)
EOF
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
