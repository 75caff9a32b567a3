#!/usr/bin/env bash
# Golden test of the emitted C++: `dlc compile examples/xo.json --train` must write
# exactly tests/golden/cpp/xo_net.cpp (and xo_net.h), so that every change to the text
# users read and embed is reviewed as a diff.
#
# After an intended change to the emitter, regenerate and review the diff:
#   UPDATE_GOLDEN=1 DLC=build/bin/dlc SRC=. bash tests/cli/golden_emit.sh && git diff tests/golden
source "$SRC/tests/lib.sh"
golden="$SRC/tests/golden/cpp"
# Run from the source tree with a relative path: the model's path is part of the text.
if (cd "$SRC" && "$DLC" compile examples/xo.json --train -o "$TMP/net.cpp" >"$TMP/out" 2>"$TMP/err"); then
  passes=$((passes + 1))
else
  fail "dlc compile examples/xo.json --train failed: $(head -c 600 "$TMP/err")"
fi
for f in net.cpp net.h; do
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$TMP/$f" "$golden/xo_$f"
    echo "updated $golden/xo_$f"
  elif diff -u "$golden/xo_$f" "$TMP/$f" >"$TMP/diff"; then
    passes=$((passes + 1))
  else
    fail "the emitted $f differs from tests/golden/cpp/xo_$f:"$'\n'"$(head -c 4000 "$TMP/diff")"
  fi
done
finish
