#!/usr/bin/env bash
# Hostile input: files built to hurt dlc (devices and FIFOs where files belong,
# decompression bombs, a huge key, a model of a million layers, damaged checkpoints,
# files whose sizes lie). Each must end in exit status 1 with one error line that says
# what is wrong, within 20 s and 1 GiB of address space (ulimit -v), never a hang, a
# crash or memory exhaustion. craft.py builds the files.
source "$SRC/tests/lib.sh"
CRAFT=(python3 "$SRC/tests/hostile/craft.py")

# hostile "SUBSTRING" CMD...: expect_error under the time and memory bounds.
hostile() {
  local want=$1
  shift
  expect_error "$want" bash -c 'ulimit -v 1048576; exec timeout -s KILL 20 "$@"' hostile "$@"
}

tiny_model() {
  echo '{"name": "tiny", "input_shape": [4, 4, 1], "layers": [{"type": "flatten"},
    {"type": "dense", "units": 3, "activation": "softmax"}], "loss": "sparse_categorical_crossentropy",
    "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 10, "epochs": 1}'
}
tiny_model >"$TMP/m.json"
D="$TMP/data"
band_idx_data "$D"
X="$D/train-images-idx3-ubyte"
Y="$D/train-labels-idx1-ubyte"
mkfifo "$TMP/fifo"
"${CRAFT[@]}" npy_input "$TMP/x.npy"

# Devices and FIFOs as every kind of input file: refused, not read until memory runs out
# (/dev/zero) or waited on forever (a FIFO with no writer).
for f in /dev/zero /dev/urandom "$TMP/fifo"; do
  hostile "$f: not a regular file" "$DLC" check "$f"
  hostile "$f: not a regular file" "$DLC" predict "$TMP/m.json" --weights "$f" --input "$TMP/x.npy"
  hostile "$f: not a regular file" "$DLC" predict "$TMP/m.json" --input "$f"
  hostile "$f: not a regular file" "$DLC" train "$TMP/m.json" --data "$f,$Y" --backend ref
  hostile "$f: not a regular file" "$DLC" train "$TMP/m.json" --data "$X,$f" --backend ref
  mkdir -p "$TMP/dev_ckpt" && ln -sf "$f" "$TMP/dev_ckpt/checkpoint.safetensors"
  hostile "not a regular file" "$DLC" train "$TMP/m.json" --data "$X,$Y" --backend ref --resume "$TMP/dev_ckpt"
done

# A decompression bomb: 2 MB of gzip that inflates to 2 GiB, behind a header that
# claims 160 bytes. Stopped after the first byte too many, far below the memory bound.
"${CRAFT[@]}" bomb "$TMP/bomb-idx3-ubyte.gz" 2048
hostile "overlong IDX data: shape [10,4,4] of u8 needs 160 bytes" "$DLC" train "$TMP/m.json" \
  --data "$TMP/bomb-idx3-ubyte.gz,$Y" --backend ref
# A header whose shape needs 1 TiB: refused before anything is inflated or allocated.
"${CRAFT[@]}" huge_shape "$TMP/huge-idx3-ubyte"
gzip -k "$TMP/huge-idx3-ubyte"
hostile "more than the limit" "$DLC" train "$TMP/m.json" --data "$TMP/huge-idx3-ubyte.gz,$Y" --backend ref
hostile "more than the limit" "$DLC" train "$TMP/m.json" --data "$TMP/huge-idx3-ubyte,$Y" --backend ref

# A 20 MB unknown key: the message quotes 80 characters of it, on one short line.
"${CRAFT[@]}" huge_key "$TMP/key.json" 20
hostile "unknown attribute 'kkkk" "$DLC" check "$TMP/key.json"
if [ "$(wc -c <"$TMP/err")" -lt 2100 ]; then passes=$((passes + 1)); else fail "the huge-key error line is $(wc -c <"$TMP/err") bytes"; fi
# 300,000 members in one object: duplicates are found in linear time.
"${CRAFT[@]}" many_keys "$TMP/keys.json" 300000
hostile "unknown attribute 'k0'" "$DLC" check "$TMP/keys.json"
# A million layers: refused by the documented limit, in bounded time and memory.
"${CRAFT[@]}" layers "$TMP/deep.json" 1000000
hostile "layers: 1000000 layers; a model may have at most 10000" "$DLC" check "$TMP/deep.json"

# Files whose sizes lie.
"${CRAFT[@]}" npy_overlong "$TMP/overlong.npy"
hostile "overlong .npy data" "$DLC" predict "$TMP/m.json" --input "$TMP/overlong.npy"
"${CRAFT[@]}" st_gap "$TMP/gap.safetensors"
hostile "a gap of 4 bytes before tensor 'b'" "$DLC" predict "$TMP/m.json" --weights "$TMP/gap.safetensors" --input "$TMP/x.npy"
"${CRAFT[@]}" st_overlap "$TMP/overlap.safetensors"
hostile "tensor 'b' overlaps the tensor before it" "$DLC" predict "$TMP/m.json" --weights "$TMP/overlap.safetensors" --input "$TMP/x.npy"

# Checkpoints: every field is checked, and a checksum covers the file. A killed run's
# temporary (dead pid) is removed by the next run in that directory.
T=("$DLC" train "$TMP/m.json" --data "$X,$Y" --backend ref)
mkdir -p "$TMP/ck"
: >"$TMP/ck/checkpoint.safetensors.tmp.999999999"
expect_ok "${T[@]}" --epochs 2 --checkpoint "$TMP/ck"
if [ -e "$TMP/ck/checkpoint.safetensors.tmp.999999999" ]; then fail "a dead run's temporary was left"; else passes=$((passes + 1)); fi
CK="$TMP/ck/checkpoint.safetensors"
bad_checkpoint() { # bad_checkpoint "SUBSTRING" CRAFT-COMMAND ARGS...: resume from the crafted copy
  local want=$1 cmd=$2
  shift 2
  mkdir -p "$TMP/bad"
  "${CRAFT[@]}" "$cmd" "$TMP/bad/checkpoint.safetensors" "$CK" "$@"
  hostile "$want" "${T[@]}" --epochs 3 --resume "$TMP/bad"
}
bad_checkpoint "'batch_in_epoch' is '-1', expected an integer in [0, 0]" ckpt batch_in_epoch=-1
bad_checkpoint "'batch_in_epoch' is '-1', expected an integer in [0, 9]" ckpt batch_in_epoch=-1 epoch=1
bad_checkpoint "'epoch' is '1e300', expected an integer in [0, 2]" ckpt epoch=1e300
bad_checkpoint "'step' is '-5', expected an integer" ckpt step=-5
bad_checkpoint "its counters disagree: step 19 is not epoch 2 x 10 batches + batch 0" ckpt step=19
bad_checkpoint "'seed' is 'x', expected a non-negative integer" ckpt seed=x
bad_checkpoint "'loss_sum' is inf, expected a finite number" ckpt loss_sum=inf
bad_checkpoint "its history has 2 epochs, but 1 were completed" ckpt epoch=1 step=10
bad_checkpoint "holds nan" ckpt_nan
bad_checkpoint "checksum mismatch" ckpt_flip
bad_checkpoint "it has no checksum" ckpt_unchecked
# The original still resumes: nothing above touched it.
expect_ok "${T[@]}" --epochs 3 --resume "$TMP/ck"
expect_output "resumed from"

# User text that reaches emitted C++: the model's name is checked; the path is escaped.
for name in 'a\nb' 'x*/y' 'a\u0000b' 'caf\u00e9' 'back\\slash' 'quote\"'; do
  python3 -c 'import sys; t = open(sys.argv[1]).read(); open(sys.argv[2], "w").write(t.replace("\"tiny\"", "\"" + sys.argv[3] + "\""))' \
    "$TMP/m.json" "$TMP/named.json" "$name"
  hostile "the model name" "$DLC" check "$TMP/named.json"
done
odd="$TMP/odd dir */ ??/"$'\n'"static int pwned = system(\"false\"); //"
mkdir -p "$odd"
cp "$TMP/m.json" "$odd/m\\.json"
expect_ok "$DLC" compile "$odd/m\\.json" -o "$TMP/net.cpp" --train
if g++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only "$TMP/net.cpp" 2>"$TMP/cc_err"; then
  passes=$((passes + 1))
else
  fail "net.cpp compiled from an odd path does not compile: $(head -c 600 "$TMP/cc_err")"
fi
if grep -q '^static int pwned' "$TMP/net.cpp" "$TMP/net.h"; then fail "the model's path reached net.cpp as code"; else passes=$((passes + 1)); fi
hostile "cannot be written in an #include" "$DLC" compile "$TMP/m.json" -o "$TMP/a\"b.cpp" --name net

finish
