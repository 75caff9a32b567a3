#!/usr/bin/env python3
"""Writes the samples of some classes of an IDX data set (Fashion-MNIST) as .npy files (pure Python 3).

For the transfer-learning example (docs/training.md, "Transfer learning on Fashion-MNIST"):
pre-train on classes 0-4, then train a new head on classes 5-9 over the frozen base.
Labels are renumbered 0 .. k-1 in the order the classes are given, so a k-class head fits.

Usage: split_classes.py IDX_DIR OUT_DIR --classes 5,6,7,8,9 [--name NAME]
Reads IDX_DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; writes
OUT_DIR/NAME_{x,y}_{train,test}.npy: x uint8 [n, rows, cols, 1], y int32 [n]. NAME
defaults to "classes_" + the classes joined by "".
"""
import argparse
import gzip
import pathlib
import struct
import sys


def read_idx(path_base):
    for path in (pathlib.Path(str(path_base) + ".gz"), pathlib.Path(path_base)):
        if path.exists():
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            break
    else:
        sys.exit("split_classes.py: %s(.gz) not found" % path_base)
    if len(data) < 8:
        sys.exit("split_classes.py: %s: not an IDX file" % path_base)
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x801:
        return n, [], data[8:8 + n]
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return n, [rows, cols], data[16:16 + n * rows * cols]
    sys.exit("split_classes.py: %s: IDX magic 0x%x is neither images nor labels" % (path_base, magic))


def write_npy(path, shape, descr, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join("%d, " % d for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    pathlib.Path(path).write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("idx_dir")
    p.add_argument("out_dir")
    p.add_argument("--classes", required=True, help="comma-separated class ids, e.g. 5,6,7,8,9")
    p.add_argument("--name", default=None)
    a = p.parse_args()
    try:
        classes = [int(c) for c in a.classes.split(",")]
    except ValueError:
        p.error("--classes: expected comma-separated integers, got %r" % a.classes)
    if not classes or len(set(classes)) != len(classes) or min(classes) < 0:
        p.error("--classes: expected distinct non-negative class ids, got %r" % a.classes)
    new_label = {c: i for i, c in enumerate(classes)}
    name = a.name or "classes_" + "".join(str(c) for c in classes)
    out = pathlib.Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for prefix, split in (("train", "train"), ("t10k", "test")):
        n, dims, images = read_idx(pathlib.Path(a.idx_dir) / ("%s-images-idx3-ubyte" % prefix))
        m, _, labels = read_idx(pathlib.Path(a.idx_dir) / ("%s-labels-idx1-ubyte" % prefix))
        if n != m or not dims:
            sys.exit("split_classes.py: %s: %d images, %d labels" % (prefix, n, m))
        size = dims[0] * dims[1]
        keep = [i for i in range(n) if labels[i] in new_label]
        x = b"".join(images[i * size:(i + 1) * size] for i in keep)
        y = struct.pack("<%di" % len(keep), *[new_label[labels[i]] for i in keep])
        write_npy(out / ("%s_x_%s.npy" % (name, split)), [len(keep), dims[0], dims[1], 1], "|u1", x)
        write_npy(out / ("%s_y_%s.npy" % (name, split)), [len(keep)], "<i4", y)
        print("%s: %d of %d samples (classes %s -> 0..%d)" % (split, len(keep), n, a.classes, len(classes) - 1))


if __name__ == "__main__":
    main()
