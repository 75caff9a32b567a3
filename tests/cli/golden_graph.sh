#!/usr/bin/env bash
# Golden tests of the IR printer: `dlc show examples/NAME.json --emit=graph` must print
# exactly tests/golden/graph/NAME.txt, for every NAME.txt there.
#
# After an intended change to the printer or the frontend, regenerate and review the diff:
#   UPDATE_GOLDEN=1 DLC=build/bin/dlc SRC=. bash tests/cli/golden_graph.sh && git diff tests/golden
# (or by hand: build/bin/dlc show examples/xo.json --emit=graph > tests/golden/graph/xo.txt).
source "$SRC/tests/lib.sh"
shopt -s nullglob
goldens=("$SRC"/tests/golden/graph/*.txt)
[ ${#goldens[@]} -ge 2 ] || fail "expected golden files in tests/golden/graph, found ${#goldens[@]}"
for golden in "${goldens[@]}"; do
  name=$(basename "$golden" .txt)
  model="$SRC/examples/$name.json"
  if [ ! -f "$model" ]; then
    fail "$golden: no model examples/$name.json"
    continue
  fi
  expect_ok "$DLC" show "$model" --emit=graph
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$TMP/out" "$golden"
    echo "updated $golden"
  elif diff -u "$golden" "$TMP/out" >"$TMP/diff"; then
    passes=$((passes + 1))
  else
    fail "$name: the printed graph differs from $golden:"$'\n'"$(cat "$TMP/diff")"
  fi
done
finish
