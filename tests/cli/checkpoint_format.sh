#!/usr/bin/env bash
# One checkpoint format (issue #19): a `dlc train --checkpoint` file loads into an emitted
# training program (net_load: parameters, optimizer state, step and seed), which saves it
# back tensor for tensor; the emitted program's checkpoint (net_save) is read by dlc eval
# and dlc predict (optimizer state skipped, a note says so) and gives the same metrics as
# the weights dlc train wrote.
source "$SRC/tests/lib.sh"
CXX=${CXX:-g++}
band_idx_data "$TMP/band"
band_mlp_model "$TMP/mlp.json" adam 0.01
# (With early stopping the checkpoint also holds the best epoch's copy, best/NAME.)
expect_ok "$DLC" train "$TMP/mlp.json" --data "$TMP/band" --epochs 2 --val-split 0.25 --early-stopping 5 \
  --checkpoint "$TMP/run" -o "$TMP/w.safetensors"
mkdir -p "$TMP/c"
expect_ok "$DLC" compile "$TMP/mlp.json" --train -o "$TMP/c/net.cpp"
cat >"$TMP/c/main.c" <<'C'
#include "net.h"
#include <stdio.h>
int main(int argc, char** argv) {
  net_ctx* c = net_create();
  if (!c || argc != 3) return 2;
  if (net_load(c, argv[1]) != 0) {
    fprintf(stderr, "%s\n", net_error(c));
    return 3;
  }
  if (net_save(c, argv[2]) != 0) {
    fprintf(stderr, "%s\n", net_error(c));
    return 4;
  }
  net_destroy(c);
  return 0;
}
C
expect_ok gcc -std=c99 -Wall -Wextra -Werror -c -I "$TMP/c" "$TMP/c/main.c" -o "$TMP/c/main.o"
expect_ok "$CXX" -std=c++17 -O1 -Wall -Wextra -Werror -c "$TMP/c/net.cpp" -o "$TMP/c/net.o"
expect_ok "$CXX" "$TMP/c/main.o" "$TMP/c/net.o" -o "$TMP/c/resave"
expect_ok "$TMP/c/resave" "$TMP/run/checkpoint.safetensors" "$TMP/emitted.safetensors"
# Every tensor of dlc's checkpoint (parameters, Adam's m and v, its step) comes back
# bit for bit, and so does the step count in the metadata.
python3 - "$TMP/run/checkpoint.safetensors" "$TMP/emitted.safetensors" <<'PY' && passes=$((passes + 1)) || fail "net_load/net_save changed the checkpoint"
import json, struct, sys
def read(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items()}, meta
a, ma = read(sys.argv[1])
b, mb = read(sys.argv[2])
assert any(k.startswith("best/") for k in a), sorted(a)
a = {k: v for k, v in a.items() if not k.startswith("best/")}
assert set(a) == set(b), (sorted(set(a) ^ set(b)))
assert any(k.endswith(".m") for k in a) and "opt.step" in a, sorted(a)
assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]
assert ma["step"] == mb["step"], (ma["step"], mb["step"])
PY
# dlc eval reads the emitted checkpoint: the metrics of the weights dlc train wrote.
expect_ok "$DLC" eval "$TMP/mlp.json" --data "$TMP/band" --weights "$TMP/w.safetensors"
want=$(grep '^loss' "$TMP/out")
expect_ok "$DLC" eval "$TMP/mlp.json" --data "$TMP/band" --weights "$TMP/emitted.safetensors"
[ "$(grep '^loss' "$TMP/out")" = "$want" ] && passes=$((passes + 1)) || fail "eval of the emitted checkpoint: $(grep '^loss' "$TMP/out"), want $want"
grep -q "is a training checkpoint" "$TMP/err" && passes=$((passes + 1)) || fail "no note about the checkpoint's optimizer state: $(cat "$TMP/err")"
finish
