#!/usr/bin/env bash
# Data in, the same for every command: `dlc predict` reads uint8 images as `train` and
# `eval` do (its classes score the accuracy eval reports) and takes the JIT for more than a
# few samples; NaN or infinity in data is bad data naming the file and the sample;
# `--data x.npy` alone says the targets are missing; training into a file or a pipe prints
# one line per epoch (no live bar).
source "$SRC/tests/lib.sh"

# npy PATH KIND SHAPE VALUES...: KIND u1 (uint8), i4 (int32) or f4 (float32; nan, inf allowed).
npy() {
  python3 - "$@" <<'PY'
import struct, sys
path, kind, shape = sys.argv[1], sys.argv[2], tuple(int(v) for v in sys.argv[3].split(","))
fmt = {"u1": "B", "i4": "i", "f4": "f"}[kind]
vals = [float(v) if kind == "f4" else int(v) for v in sys.argv[4:]]
h = "{'descr': '%s%s', 'fortran_order': False, 'shape': (%s), }" % ("|" if kind == "u1" else "<", kind,
                                                                    "".join("%d," % d for d in shape))
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() +
                       struct.pack("<%d%s" % (len(vals), fmt), *vals))
PY
}

# 60 images of 16 uint8 pixels in 3 classes (class c: a bright band at pixels [5c, 5c+5)),
# with noise; their labels; the same pixels as float32, unscaled and divided by 255.
N=60
read -r -a PIX <<<"$(python3 -c "
print(' '.join(str(min(255, (190 if p // 5 == (i * 7) % 3 else 40) + (i * 37 + p * 53) % 90))
               for i in range($N) for p in range(16)))")"
read -r -a LAB <<<"$(python3 -c "print(' '.join(str((i * 7) % 3) for i in range($N)))")"
npy "$TMP/x.npy" u1 $N,16 "${PIX[@]}"
npy "$TMP/y.npy" i4 $N "${LAB[@]}"
npy "$TMP/x255.npy" f4 $N,16 "${PIX[@]}"
read -r -a PIX01 <<<"$(for v in "${PIX[@]}"; do echo "$v / 255"; done | python3 -c "
import struct, sys
print(' '.join(repr(struct.unpack('<f', struct.pack('<f', eval(l)))[0]) for l in sys.stdin))")"
npy "$TMP/x01.npy" f4 $N,16 "${PIX01[@]}"
echo '{"name": "bands", "input_shape": [16], "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
  {"type": "dense", "units": 3, "activation": "softmax"}], "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.05}, "batch_size": 10, "epochs": 4, "metrics": ["accuracy"]}' >"$TMP/m.json"

# Training into a file: the header, one line per epoch, the weights line; no live bar.
expect_ok "$DLC" train "$TMP/m.json" --data "$TMP/x.npy,$TMP/y.npy" -o "$TMP/w.safetensors"
if [ "$(grep -c '^epoch [1-4]/4: loss' "$TMP/out")" = 4 ] && [ "$(wc -l <"$TMP/out")" = 6 ] &&
   ! grep -q $'\r' "$TMP/out"; then
  passes=$((passes + 1))
else
  fail "expected a header, 4 epoch lines and 'wrote', without carriage returns, got:"$'\n'"$(cat -A "$TMP/out")"
fi
# ... and into a pipe.
lines=$("$DLC" train "$TMP/m.json" --data "$TMP/x.npy,$TMP/y.npy" --epochs 3 2>&1 | tr '\r' '\n' | grep -c .)
if [ "$lines" = 4 ]; then passes=$((passes + 1)); else fail "train into a pipe: expected 4 lines, got $lines"; fi

# eval's accuracy on the uint8 images.
expect_ok "$DLC" eval "$TMP/m.json" --data "$TMP/x.npy,$TMP/y.npy" --weights "$TMP/w.safetensors"
eval_acc=$(sed -n 's/^loss [0-9.]* accuracy \([0-9.]*\)$/\1/p' "$TMP/out")
[ -n "$eval_acc" ] || fail "eval printed no accuracy: $(cat "$TMP/out")"
# accuracy_of_predictions: the accuracy of the last predict --top-k 1 against the labels.
accuracy_of_predictions() {
  sed -E 's/^sample [0-9]+: ([0-9]+) .*/\1/' "$TMP/out" | paste -d' ' - <(printf '%s\n' "${LAB[@]}") |
    awk '{right += ($1 == $2); n++} END {if (n) printf "%.4f", right / n}'
}
for backend in default ref; do
  flags=(-v)
  [ $backend = ref ] && flags+=(--backend ref)
  expect_ok "$DLC" predict "$TMP/m.json" --input "$TMP/x.npy" --weights "$TMP/w.safetensors" --top-k 1 "${flags[@]}"
  acc=$(accuracy_of_predictions)
  if [ "$acc" = "$eval_acc" ]; then passes=$((passes + 1)); else fail "predict ($backend): accuracy $acc, eval $eval_acc"; fi
  want=$([ $backend = ref ] && echo ref || echo jit)
  if grep -qF "note: $N samples through backend $want" "$TMP/err"; then passes=$((passes + 1)); else
    fail "predict ($backend) on $N samples: expected backend $want, got: $(cat "$TMP/err")"; fi
done
# The scores too: uint8 images score as the same pixels divided by 255 in float32, and not
# as the pixels unscaled (what predict fed the model before it scaled uint8 input).
expect_ok "$DLC" predict "$TMP/m.json" --input "$TMP/x.npy" --weights "$TMP/w.safetensors" --top-k 3
cp "$TMP/out" "$TMP/scores_u8"
expect_ok "$DLC" predict "$TMP/m.json" --input "$TMP/x01.npy" --weights "$TMP/w.safetensors" --top-k 3
if cmp -s "$TMP/out" "$TMP/scores_u8"; then passes=$((passes + 1)); else
  fail "uint8 and float [0, 1] pixels score differently:"$'\n'"$(diff "$TMP/out" "$TMP/scores_u8" | head -5)"; fi
expect_ok "$DLC" predict "$TMP/m.json" --input "$TMP/x255.npy" --weights "$TMP/w.safetensors" --top-k 3
if ! cmp -s "$TMP/out" "$TMP/scores_u8"; then passes=$((passes + 1)); else fail "unscaled pixels score as scaled ones"; fi
# A few samples stay on the interpreter (no compile).
head_pix=("${PIX[@]:0:48}")
npy "$TMP/x3.npy" u1 3,16 "${head_pix[@]}"
expect_ok "$DLC" predict "$TMP/m.json" --input "$TMP/x3.npy" --weights "$TMP/w.safetensors" -v
if grep -qF "note: 3 samples through backend ref" "$TMP/err"; then passes=$((passes + 1)); else
  fail "predict on 3 samples: expected the interpreter, got: $(cat "$TMP/err")"; fi

# NaN and infinity are bad data, named with the file and the sample, before any training.
bad=("${PIX[@]:0:16}" "${PIX[@]:16:16}" 1 2 3 4 5 nan 7 8 9 10 11 12 13 14 15 16)
npy "$TMP/x_nan.npy" f4 3,16 "${bad[@]}"
npy "$TMP/y3.npy" i4 3 0 1 2
for cmd in train eval; do
  expect_error "$TMP/x_nan.npy: bad data: the input of sample 2 is NaN at position 5" \
    "$DLC" $cmd "$TMP/m.json" --data "$TMP/x_nan.npy,$TMP/y3.npy"
done
expect_error "$TMP/x_nan.npy: bad data: the input of sample 2 is NaN at position 5" \
  "$DLC" predict "$TMP/m.json" --input "$TMP/x_nan.npy"
bad[37]=6
bad[40]=-inf
npy "$TMP/x_inf.npy" f4 3,16 "${bad[@]}"
expect_error "x_inf.npy: bad data: the input of sample 2 is -inf at position 8" \
  "$DLC" train "$TMP/m.json" --data "$TMP/x_inf.npy,$TMP/y3.npy"
# Float targets of an mse model too.
sed 's/"sparse_categorical_crossentropy"/"mse"/' "$TMP/m.json" >"$TMP/mse.json"
npy "$TMP/t_inf.npy" f4 3,3 0 0 1 0 inf 0 1 0 0
expect_error "t_inf.npy: bad data: the target of sample 1 is +inf at position 1" \
  "$DLC" train "$TMP/mse.json" --data "$TMP/x3.npy,$TMP/t_inf.npy"

# --data with samples but no targets says what it expects.
expect_error "--data $TMP/x.npy: NPY data needs its targets too: --data $TMP/x.npy,y.npy" \
  "$DLC" train "$TMP/m.json" --data "$TMP/x.npy"
expect_error "--data $TMP/x.npy: NPY data needs its targets too" "$DLC" eval "$TMP/m.json" --data "$TMP/x.npy"
expect_error "--data $TMP/m.json: a file; expected a directory of IDX files, x.npy,y.npy" \
  "$DLC" train "$TMP/m.json" --data "$TMP/m.json"
finish
