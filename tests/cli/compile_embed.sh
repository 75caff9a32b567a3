#!/usr/bin/env bash
# The embedding example (examples/embed): train mlp_relu_adam for one epoch through the
# JIT, compile it with --extern-weights, build the C program with make and classify five
# Fashion-MNIST test images.
source "$SRC/tests/lib.sh"
DATA=/usr/share/datasets/fashion-mnist
if [ ! -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
  echo "skipped: no Fashion-MNIST in $DATA (Debian package dataset-fashion-mnist)"
  exit "$SKIPPED"
fi

expect_ok make -s -C "$SRC/examples/embed" demo DLC="$DLC" OUT="$TMP/embed" DATA="$DATA"
[ "$(grep -c '^image [0-9]: .* (.*%), labelled ' "$TMP/out")" = 5 ] || fail "expected five classified images: $(cat "$TMP/out")"
right=$(awk -F'[:(,]' '/^image/ { sub(/^ /, "", $2); sub(/ $/, "", $2); sub(/^ labelled /, "", $4); if ($2 == $4) n++ } END { print n + 0 }' "$TMP/out")
[ "$right" -ge 4 ] || fail "only $right of 5 test images classified right: $(cat "$TMP/out")"
# The three files from the README's compile step, and nothing in the source tree.
for f in net.cpp net.h dlc_runtime.h classify weights.safetensors; do
  [ -f "$TMP/embed/$f" ] || fail "make did not produce $f"
done
[ -z "$(git -C "$SRC" status --porcelain --ignored examples/embed 2>/dev/null | grep -v '^?? examples/embed/$')" ] ||
  fail "the example wrote into the source tree: $(git -C "$SRC" status --porcelain --ignored examples/embed)"

# Bad use of the program: a missing weights file is one clear line.
expect_error "no-such.safetensors" "$TMP/embed/classify" "$TMP/no-such.safetensors" "$TMP/embed/t10k-images-idx3-ubyte" 0
finish
