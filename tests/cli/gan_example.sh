#!/usr/bin/env bash
# The GAN example (examples/gan): its Makefile compiles three models with dlc and builds
# the training program against libpng; two short epochs on 1,280 Fashion-MNIST images
# write two PNG grids of 8x8 generated images (242x242 grayscale) that differ (the
# generator's parameters reach the sampling model), with finite losses and D(real) in
# [0, 1]. A bad option is one error line and exit status 1.
source "$SRC/tests/lib.sh"
DATA=/usr/share/datasets/fashion-mnist
if [ ! -f "$DATA/train-images-idx3-ubyte.gz" ] || [ ! -f /usr/include/png.h ]; then
  echo "skipped: needs $DATA (dataset-fashion-mnist) and libpng-dev (scripts/install-deps.sh installs both)"
  exit "$SKIPPED"
fi
OUT="$TMP/gan"
expect_ok make -s -C "$SRC/examples/gan" DLC="$DLC" OUT="$OUT" CXXFLAGS="-std=c++17 -O1 -Wall -Wextra -Werror"
expect_ok "$OUT/gan" --data "$DATA" --epochs 2 --limit 1280 --out "$OUT"
python3 - "$OUT" "$TMP/out" <<'PY' && passes=$((passes + 1)) || fail "GAN run: $(cat "$TMP/out")"
import math, re, struct, sys
out, log = sys.argv[1], open(sys.argv[2]).read().splitlines()
assert len(log) == 2, log
for i, line in enumerate(log, 1):
    m = re.match(r"epoch %d/2: discriminator loss ([0-9.]+), generator loss ([0-9.]+), D\(real\) ([0-9.]+), wrote .*epoch_%02d\.png$" % (i, i), line)
    assert m, line
    d, g, p = (float(v) for v in m.groups())
    assert math.isfinite(d) and math.isfinite(g) and 0 <= p <= 1, line
pngs = [open("%s/epoch_%02d.png" % (out, e), "rb").read() for e in (1, 2)]
for b in pngs:
    assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", b[:16]
    w, h, depth, color = struct.unpack(">IIBB", b[16:26])
    assert (w, h, depth, color) == (242, 242, 8, 0), (w, h, depth, color)
assert pngs[0] != pngs[1]
PY
expect_error "bad option --epochs 0" "$OUT/gan" --epochs 0
# Nothing new in the source tree (untracked or ignored files; the example's own files may
# be staged in a working copy).
new=$(git -C "$SRC" status --porcelain --ignored examples/gan 2>/dev/null | grep -E '^(\?\?|!!)' | grep -v '^?? examples/gan/$')
[ -z "$new" ] && passes=$((passes + 1)) || fail "the example wrote into the source tree: $new"
finish
