#!/usr/bin/env bash
# Sequence data end to end: token-id inputs (embedding, one_hot), sequence targets,
# --data text:FILE and dlc sample, with the data of examples/data/make_sequences.py; and
# the bad input of each (ids outside the vocabulary, non-integer ids, sequences of
# another length, unusable text files).
source "$SRC/tests/lib.sh"
D="$TMP/data"
python3 "$SRC/examples/data/make_sequences.py" "$D" --train 600 --test 200 >/dev/null || fail "make_sequences.py"
S="$D/sentiment_x_train.npy,$D/sentiment_y_train.npy,$D/sentiment_x_test.npy,$D/sentiment_y_test.npy"
G="$D/tagging_x_train.npy,$D/tagging_y_train.npy,$D/tagging_x_test.npy,$D/tagging_y_test.npy"
# npy PATH f4|i4 SHAPE VALUES...: a float32 or int32 array.
npy() {
  python3 - "$@" <<'PY'
import struct, sys
path, kind, shape = sys.argv[1], sys.argv[2], tuple(int(v) for v in sys.argv[3].split(","))
vals = [float(v) if kind == "f4" else int(v) for v in sys.argv[4:]]
h = "{'descr': '<%s', 'fortran_order': False, 'shape': (%s), }" % (kind, "".join("%d," % d for d in shape))
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
data = struct.pack("<%d%s" % (len(vals), "f" if kind == "f4" else "i"), *vals)
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data)
PY
}
# test_accuracy: the accuracy of the last run's "test:" line.
test_accuracy() { sed -n 's/^test: loss [0-9.]* accuracy \([0-9.]*\)$/\1/p' "$TMP/out"; }
at_least() { # at_least WHAT VALUE BOUND
  if [ -n "$2" ] && python3 -c "import sys; sys.exit(0 if float('$2') >= $3 else 1)"; then
    passes=$((passes + 1))
  else
    fail "$1: expected >= $3, got '$2'"
  fi
}

# A non-recurrent token model: embedding -> flatten -> dense, on the [12] id sequences.
cat >"$TMP/embed.json" <<'JSON'
{"name": "embed_flat", "input_shape": [12],
 "layers": [{"type": "embedding", "input_dim": 8, "output_dim": 4}, {"type": "flatten"},
            {"type": "dense", "units": 2, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 32, "epochs": 2}
JSON
sed 's/{"type": "embedding", "input_dim": 8, "output_dim": 4}/{"type": "one_hot", "depth": 8}/; s/embed_flat/one_hot_flat/' \
  "$TMP/embed.json" >"$TMP/onehot.json"
for m in embed onehot; do
  expect_ok "$DLC" train "$TMP/$m.json" --data "$S"
  expect_output "test: loss"
done
# compiles MODEL: dlc compile --train, and the C++ builds warning-free with g++ (and clang++
# when there is one).
compiles() {
  local dir="$TMP/cc_$(basename "$1" .json)"
  mkdir -p "$dir"
  expect_ok "$DLC" compile "$1" -o "$dir/net.cpp" --train
  expect_ok g++ -std=c++17 -O1 -Wall -Wextra -Werror -c "$dir/net.cpp" -o "$dir/net.o"
  if command -v clang++ >/dev/null; then
    expect_ok clang++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only "$dir/net.cpp"
  fi
}
compiles "$TMP/embed.json"
compiles "$TMP/onehot.json"

# Bad token ids: outside the vocabulary, not integers; a sequence of another length.
npy "$TMP/y2.npy" i4 2 0 1
npy "$TMP/x_big.npy" f4 2,12 0 1 2 3 4 5 6 7 0 1 2 3  0 1 2 3 4 5 6 7 0 9 2 3
expect_error "token id 9 of sample 1 at position 9 is outside the model's vocabulary of 8 tokens (ids 0 to 7)" \
  "$DLC" train "$TMP/embed.json" --data "$TMP/x_big.npy,$TMP/y2.npy"
expect_error "token id 9 of sample 1 at position 9 is outside the model's vocabulary of 8 tokens" \
  "$DLC" train "$TMP/onehot.json" --data "$TMP/x_big.npy,$TMP/y2.npy"
npy "$TMP/x_neg.npy" f4 2,12 0 1 2 3 4 5 6 7 0 1 2 3  0 1 2 3 4 5 6 7 0 1 2 -1
expect_error "token id -1 of sample 1 at position 11 is outside" "$DLC" eval "$TMP/embed.json" --data "$TMP/x_neg.npy,$TMP/y2.npy"
npy "$TMP/x_frac.npy" f4 2,12 0 1.5 2 3 4 5 6 7 0 1 2 3  0 1 2 3 4 5 6 7 0 1 2 3
expect_error "token id 1.5 of sample 0 at position 1 is not an integer" \
  "$DLC" train "$TMP/embed.json" --data "$TMP/x_frac.npy,$TMP/y2.npy"
npy "$TMP/x_short.npy" f4 2,10 0 1 2 3 4 5 6 7 0 1  0 1 2 3 4 5 6 7 0 1
expect_error "samples have shape [10] (10 values), the model's input 'input' is [12] (12 values)" \
  "$DLC" train "$TMP/embed.json" --data "$TMP/x_short.npy,$TMP/y2.npy"
# Sequence labels of another length than the model's output positions.
expect_error "targets are class ids at 12 positions, the model's output is [2] per sample (expected [12, classes])" \
  "$DLC" train "$TMP/embed.json" --data "$G"
# A layer that needs token ids fed something else.
echo '{"input_shape": [4], "layers": [{"type": "dense", "units": 3}, {"type": "embedding", "input_dim": 5, "output_dim": 2}]}' \
  >"$TMP/bad_embed.json"
expect_ok "$DLC" check "$TMP/bad_embed.json" # a float vector is a valid (if odd) id tensor
echo '{"input_shape": [4], "input_dtype": "i32", "layers": [{"type": "embedding", "input_dim": 5, "output_dim": 2}]}' \
  >"$TMP/bad_embed.json"
expect_error "layer 'embedding_1' (embedding) needs token ids (f32 integers) of shape [batch, ...], but input 'input' gives i32[1,4]" \
  "$DLC" check "$TMP/bad_embed.json"
echo '{"input_shape": [4], "layers": [{"type": "one_hot", "depth": 0}]}' >"$TMP/bad_embed.json"
expect_error "depth" "$DLC" check "$TMP/bad_embed.json"

# --data text:FILE with a window model (many-to-one: the character after the window).
TEXT="$TMP/text.txt"
head -c 3000 /usr/share/common-licenses/GPL-3 >"$TEXT" 2>/dev/null ||
  python3 -c "print(('the quick brown fox jumps over the lazy dog. ' * 70)[:3000])" >"$TEXT"
cat >"$TMP/next.json" <<'JSON'
{"name": "next_char", "input_shape": [8],
 "layers": [{"type": "embedding", "input_dim": 96, "output_dim": 8}, {"type": "flatten"},
            {"type": "dense", "units": 96, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 32, "epochs": 2}
JSON
expect_ok "$DLC" train "$TMP/next.json" --data "text:$TEXT" -o "$TMP/next.safetensors"
expect_output "training next_char on $TEXT (text windows): 337 samples (validation 0, test 37)"
expect_output "test: loss"
expect_ok "$DLC" sample "$TMP/next.json" --weights "$TMP/next.safetensors" --data "text:$TEXT" --seed-text "the " \
  --length 40 --seed 3
if [ "$(head -c 4 "$TMP/out")" = "the " ] && [ "$(wc -c <"$TMP/out")" -eq 45 ]; then
  passes=$((passes + 1))
else
  fail "dlc sample: expected 'the ' and 40 more characters and a newline, got '$(cat "$TMP/out")'"
fi
cp "$TMP/out" "$TMP/sample1"
expect_ok "$DLC" sample "$TMP/next.json" --weights "$TMP/next.safetensors" --data "text:$TEXT" --seed-text "the " \
  --length 40 --seed 3 --backend ref
cmp -s "$TMP/out" "$TMP/sample1" && passes=$((passes + 1)) || fail "dlc sample: the JIT and the interpreter drew different text"
# Bad text input.
: >"$TMP/empty.txt"
expect_error "the text file is empty" "$DLC" train "$TMP/next.json" --data "text:$TMP/empty.txt"
python3 -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 4)" >"$TMP/binary.txt"
expect_error "256 distinct characters, more than the 96 classes of the model's output" \
  "$DLC" train "$TMP/next.json" --data "text:$TMP/binary.txt"
printf 'abcdefghij' >"$TMP/short.txt"
expect_error "make 1 window(s) of 8 characters and the next; text data needs at least 2" \
  "$DLC" train "$TMP/next.json" --data "text:$TMP/short.txt"
expect_error "missing.txt: cannot open file" "$DLC" train "$TMP/next.json" --data "text:$TMP/missing.txt"
expect_error "the model needs one input of shape [T]" "$DLC" train "$SRC/examples/xo.json" --data "text:$TEXT"
expect_error "--seed-text: character 'Z' at position 2 does not occur in $TEXT" \
  "$DLC" sample "$TMP/next.json" --weights "$TMP/next.safetensors" --data "text:$TEXT" --seed-text "thZ"
expect_error "--weights W.safetensors is required" "$DLC" sample "$TMP/next.json" --data "text:$TEXT" --seed-text "the"
expect_error "--data text:FILE is required" "$DLC" sample "$TMP/next.json" --weights "$TMP/next.safetensors" --seed-text "a"
expect_error "--temperature" "$DLC" sample "$TMP/next.json" --weights "$TMP/next.safetensors" --data "text:$TEXT" \
  --seed-text "the" --temperature -1

finish
