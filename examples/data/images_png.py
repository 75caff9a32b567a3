#!/usr/bin/env python3
"""Writes grey-scale images from .npy files side by side as one PNG (pure Python 3).

For the autoencoder example (docs/training.md, "Autoencoders"): the first row holds the
first COUNT images of the first file (the originals), each further row the same samples
of the next file (the reconstructions `dlc predict -o` wrote).

Usage: images_png.py A.npy [B.npy ...] -o OUT.png [--count 10] [--scale 2]
Arrays: [n, h, w] or [n, h, w, 1]; uint8 (0-255) or float32/float64 (0-1, clamped).
"""
import argparse
import ast
import pathlib
import struct
import sys
import zlib


def read_npy(path):
    b = pathlib.Path(path).read_bytes()
    if b[:6] != b"\x93NUMPY":
        sys.exit("images_png.py: %s: not an .npy file" % path)
    major = b[6]
    hl, start = (struct.unpack("<H", b[8:10])[0], 10) if major == 1 else (struct.unpack("<I", b[8:12])[0], 12)
    h = ast.literal_eval(b[start:start + hl].decode("latin1"))
    shape, descr, data = tuple(h["shape"]), h["descr"], b[start + hl:]
    if h.get("fortran_order"):
        sys.exit("images_png.py: %s: Fortran order is not supported" % path)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        sys.exit("images_png.py: %s: expected images [n, h, w] or [n, h, w, 1], got %s" % (path, list(h["shape"])))
    count = shape[0] * shape[1] * shape[2]
    if descr in ("|u1", "u1"):
        pixels = list(data[:count])
    elif descr in ("<f4", "<f8"):
        values = struct.unpack("<%d%s" % (count, descr[2] == "4" and "f" or "d"), data[:count * int(descr[2])])
        pixels = [int(round(min(max(v, 0.0), 1.0) * 255)) for v in values]
    else:
        sys.exit("images_png.py: %s: dtype %s is not uint8, float32 or float64" % (path, descr))
    return shape, pixels


def write_png(path, width, height, rows):
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    pathlib.Path(path).write_bytes(png)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("arrays", nargs="+")
    p.add_argument("-o", dest="out", required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--scale", type=int, default=2)
    a = p.parse_args()
    if a.count < 1 or a.scale < 1:
        p.error("--count and --scale must be positive")
    images = [read_npy(f) for f in a.arrays]
    (n, h, w), _ = images[0]
    for f, ((m, hh, ww), _) in zip(a.arrays, images):
        if (hh, ww) != (h, w):
            sys.exit("images_png.py: %s holds %dx%d images, %s %dx%d" % (f, hh, ww, a.arrays[0], h, w))
        n = min(n, m)
    count, gap = min(a.count, n), 2
    width = (count * (w + gap) + gap) * a.scale
    rows = []
    for _, pixels in images:
        for y in range(-gap, h):
            row = []
            for k in range(count):
                row += [255] * gap
                row += [255] * w if y < 0 else pixels[(k * h + y) * w:(k * h + y + 1) * w]
            row += [255] * gap
            scaled = [v for v in row for _ in range(a.scale)]
            rows += [scaled] * a.scale
    rows += [[255] * width] * (gap * a.scale)
    write_png(a.out, width, len(rows), rows)
    print("wrote %s: %d images from %d files, %dx%d pixels" % (a.out, count, len(images), width, len(rows)))


if __name__ == "__main__":
    main()
