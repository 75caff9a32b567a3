#!/usr/bin/env python3
"""Builds the hostile inputs of tests/hostile/run.sh (Python standard library only).

    craft.py bomb OUT.gz N_MB          IDX u8 [10, 4, 4] whose gzip data inflates to N_MB MB
    craft.py huge_shape OUT            IDX header claiming 2^40 bytes, no data
    craft.py huge_key OUT.json N_MB    a model with an unknown key of N_MB MB
    craft.py layers OUT.json N         a sequential model with N dense layers
    craft.py many_keys OUT.json N      a model whose root object has N more (unknown) members
    craft.py npy_overlong OUT.npy      f32 [2] followed by 4 extra bytes
    craft.py st_gap OUT / st_overlap OUT   safetensors files whose tensors leave a gap / overlap
    craft.py ckpt OUT IN KEY=VALUE...  a copy of dlc checkpoint IN with metadata changed and its
                                       CRC-32 recomputed (so that the field checks are reached)
    craft.py ckpt_nan OUT IN           the same with the first float of the first tensor NaN
    craft.py ckpt_flip OUT IN          a copy with one data bit flipped (CRC left as it was)
    craft.py ckpt_unchecked OUT IN     a copy without its crc32 entry
    craft.py npy_input OUT.npy         f32 [1, 4, 4, 1], a valid input for run.sh's model
"""
import gzip
import json
import struct
import sys
import zlib


def idx_header(shape):
    return struct.pack(">BBBB", 0, 0, 0x08, len(shape)) + b"".join(struct.pack(">I", d) for d in shape)


def bomb(out, megabytes):
    # Concatenated gzip members each inflating to 1 MB of zeros: a ~1 KB member repeated,
    # so the file is built at once whatever its inflated size.
    member = gzip.compress(bytes(1 << 20), 9)
    with open(out, "wb") as f:
        f.write(gzip.compress(idx_header([10, 4, 4]) + bytes(160)))
        for _ in range(megabytes):
            f.write(member)


def safetensors(header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_checked(out, header, data):
    """Writes a dlc file with its crc32 entry recomputed (CRC-32 of the file with the entry's digits as zeros)."""
    header["__metadata__"]["crc32"] = "00000000"
    b = safetensors(header, data)
    crc = zlib.crc32(b) & 0xFFFFFFFF
    b = b.replace(b'"crc32":"00000000"', b'"crc32":"%08x"' % crc, 1)
    open(out, "wb").write(b)


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "bomb":
        bomb(out, int(sys.argv[3]))
    elif cmd == "huge_shape":
        open(out, "wb").write(idx_header([1 << 20, 1 << 10, 1 << 10]))
    elif cmd == "huge_key":
        key = "k" * (int(sys.argv[3]) << 20)
        open(out, "w").write('{"name": "m", "input_shape": [4], "%s": 1, "layers": [{"type": "dense", "units": 2}]}' % key)
    elif cmd == "many_keys":
        extra = ",".join('"k%d": 1' % i for i in range(int(sys.argv[3])))
        open(out, "w").write('{"name": "m", "input_shape": [4], "layers": [{"type": "dense", "units": 2}], ' + extra + "}")
    elif cmd == "layers":
        layer = '{"type": "dense", "units": 2}'
        open(out, "w").write('{"name": "deep", "input_shape": [2], "layers": [' + ",".join([layer] * int(sys.argv[3])) + "]}")
    elif cmd == "npy_overlong":
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        open(out, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
                              struct.pack("<2f", 1, 2) + b"\0\0\0\0")
    elif cmd in ("st_gap", "st_overlap"):
        second = [12, 20] if cmd == "st_gap" else [4, 12]
        header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": second}}
        open(out, "wb").write(safetensors(header, bytes(20 if cmd == "st_gap" else 12)))
    elif cmd == "ckpt":
        header, data = read_safetensors(sys.argv[3])
        for kv in sys.argv[4:]:
            k, v = kv.split("=", 1)
            header["__metadata__"][k] = v
        write_checked(out, header, data)
    elif cmd == "ckpt_nan":
        header, data = read_safetensors(sys.argv[3])
        first = min(v["data_offsets"][0] for k, v in header.items() if k != "__metadata__")
        data = data[:first] + struct.pack("<f", float("nan")) + data[first + 4:]
        write_checked(out, header, data)
    elif cmd == "ckpt_flip":
        b = bytearray(open(sys.argv[3], "rb").read())
        b[-3] ^= 0x10
        open(out, "wb").write(bytes(b))
    elif cmd == "ckpt_unchecked":
        header, data = read_safetensors(sys.argv[3])
        del header["__metadata__"]["crc32"]
        open(out, "wb").write(safetensors(header, data))
    elif cmd == "npy_input":
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 4, 1), }"
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        open(out, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(64))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
