#!/usr/bin/env python3
"""Writes a text of at least 1 MB for character-level models (examples/char_rnn_256.json):
the copyright files of the installed Debian packages, /usr/share/doc/*/copyright, in name
order, kept to printable ASCII, tabs and newlines (at most 96 distinct bytes, the model's
classes). Python's standard library only.

    python3 examples/data/make_text.py OUT.txt [--bytes N]   (default 1,200,000)
"""
import glob
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    want = int(sys.argv[sys.argv.index("--bytes") + 1]) if "--bytes" in sys.argv else 1_200_000
    keep = set(range(32, 127)) | {9, 10}
    text = bytearray()
    for path in sorted(glob.glob("/usr/share/doc/*/copyright")) + sorted(glob.glob("/usr/share/common-licenses/*")):
        try:
            with open(path, "rb") as f:
                text += bytes(b for b in f.read() if b in keep)
        except OSError:
            continue
        if len(text) >= want:
            break
    if len(text) < want:
        sys.exit(f"make_text.py: only {len(text)} bytes of text found, {want} wanted")
    with open(out, "wb") as f:
        f.write(text[:want])
    print(f"wrote {out}: {want} bytes, {len(set(text[:want]))} distinct")


if __name__ == "__main__":
    main()
