#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses into fuzz/corpus/<target>/.

Small valid inputs and near-valid ones (one thing wrong), a few KB per target. Python
standard library only; the output is committed, so rerun this only to change the seeds:

    /usr/bin/python3 fuzz/make_seeds.py

Every file is rewritten; files this script does not write are left alone.
"""
import gzip
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- JSON -------------------------------------------------------------------------------
def json_seeds():
    seeds = {
        "object": '{"a": 1, "b": [true, false, null], "c": {"d": "e"}}',
        "numbers": "[0, -0, 1.5, -2e10, 3E-5, 123456789012345678901234567890, 1e308]",
        "strings": r'["", "tab\t", "\"q\"", "\\", "\/", "\u00e9\u20ac", "\ud83d\ude00", "caf' + "\u00e9" + '"]',
        "nested": "[[[[[{}]]]], {\"x\": [[], {}]}]",
        "whitespace": ' \n\t\r{ "k" :\n[ 1 ,2 ] }\r\n',
        "scalar": "42",
        "bad_trailing_comma": '{"a": 1,}',
        "bad_duplicate": '{"a": 1, "a": 2}',
        "bad_unterminated": '["abc',
        "bad_surrogate": r'["\ud800x"]',
        "bad_overflow": "[1e999]",
        "bad_after": "{} x",
    }
    for name, text in seeds.items():
        write("json", name + ".json", text)


# --- models -----------------------------------------------------------------------------
def model_seeds():
    for name in ["mlp.json", "xo.json", "cnn.json", "rnn_small.json", "gru_small.json",
                 "lstm_small.json", "residual.json", "two_inputs_two_outputs.json",
                 "dense_sentiment.json"]:
        shutil.copyfile(os.path.join(ROOT, "examples", name), os.path.join(HERE, "corpus", "model", name))
    for name in ["cnn_sequential.json", "seq2seq_functional.json", "keras3_functional.json"]:  # Keras's model JSON
        shutil.copyfile(os.path.join(ROOT, "tests", "fixtures", "keras", name),
                        os.path.join(HERE, "corpus", "model", "keras_" + name))
    # ONNX: PyTorch's exports (tests/fixtures/onnx/), the small ones.
    os.makedirs(os.path.join(HERE, "corpus", "onnx"), exist_ok=True)
    for name in ["mlp", "batchnorm", "depthwise", "concat", "generator", "embed", "unsupported", "residual"]:
        shutil.copyfile(os.path.join(ROOT, "tests", "fixtures", "onnx", name + ".onnx"),
                        os.path.join(HERE, "corpus", "onnx", name + ".onnx"))
    write("model", "bad_units.json",
          '{"input_shape": [4], "layers": [{"type": "dense", "units": -3}]}')
    write("model", "bad_layer.json",
          '{"input_shape": [4], "layers": [{"type": "dens", "units": 3}]}')
    write("model", "bad_shape.json",
          '{"input_shape": [4, 4], "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 9}]}')


# --- safetensors ------------------------------------------------------------------------
def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, raw bytes)] in file order."""
    header, offset, body = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        body += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + body


def checksummed(tensors, metadata):
    """A safetensors file whose metadata entry "crc32" holds the CRC-32 of the file with
    that entry's digits read as "00000000" (what dlc writes and verifies)."""
    data = safetensors(tensors, dict(metadata, crc32="00000000"))
    at = data.index(b'"crc32":"00000000"') + len(b'"crc32":"')
    return data[:at] + b"%08x" % zlib.crc32(data) + data[at + 8:]


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def safetensors_seeds():
    w = ("w", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6))
    b = ("b", "F32", [3], f32(0.5, -0.5, 0))
    write("safetensors", "f32.safetensors", safetensors([w, b], {"format": "pt"}))
    write("safetensors", "dtypes.safetensors", safetensors([
        ("d", "F64", [2], struct.pack("<2d", 1.25, -3)),
        ("h", "F16", [2], struct.pack("<2H", 0x3C00, 0x7E00)),
        ("bf", "BF16", [2], struct.pack("<2H", 0x3F80, 0xFF80)),
        ("i", "I32", [2], struct.pack("<2i", -7, 2 ** 31 - 1)),
        ("l", "I64", [1], struct.pack("<q", -2 ** 40)),
    ]))
    write("safetensors", "scalar_empty.safetensors", safetensors([
        ("s", "F32", [], f32(7)), ("e", "F32", [0, 4], b"")]))
    write("safetensors", "empty.safetensors", safetensors([], {}))
    write("safetensors", "checksum.safetensors", checksummed([w, b], {"step": "3"}))
    write("safetensors", "bad_checksum.safetensors", checksummed([w, b], {"step": "3"}).replace(b'"3"', b'"4"'))
    write("safetensors", "bad_truncated.safetensors", safetensors([w, b])[:-4])
    write("safetensors", "bad_dtype.safetensors", safetensors([("x", "U8", [2], b"\x01\x02")]))
    write("safetensors", "bad_size.safetensors", safetensors([("x", "F32", [3], f32(1, 2))]))
    write("safetensors", "bad_header_len.safetensors", struct.pack("<Q", 1 << 40) + b"{}")


# --- NPY --------------------------------------------------------------------------------
def npy(descr, shape, raw, version=1, fortran=False):
    s = "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, s)
    pre = 10 if version == 1 else 12
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    h = header.encode()
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + raw


def npy_seeds():
    write("npy", "f4.npy", npy("<f4", [2, 3], f32(1, 2, 3, 4, 5, 6)))
    write("npy", "f8_v2.npy", npy("<f8", [2], struct.pack("<2d", 0.5, -1e300), version=2))
    write("npy", "u1_v3.npy", npy("|u1", [4], b"\x00\x01\x7f\xff", version=3))
    write("npy", "i1.npy", npy("|i1", [2, 1], b"\x80\x7f"))
    write("npy", "i4.npy", npy("<i4", [3], struct.pack("<3i", -1, 0, 1)))
    write("npy", "i8.npy", npy("<i8", [1, 1, 2], struct.pack("<2q", 2 ** 40, -5)))
    write("npy", "b1.npy", npy("|b1", [3], b"\x01\x00\x01"))
    write("npy", "scalar.npy", npy("<f4", [], f32(3)))
    write("npy", "empty.npy", npy("<f4", [0, 5], b""))
    write("npy", "bad_fortran.npy", npy("<f4", [2, 2], f32(1, 2, 3, 4), fortran=True))
    write("npy", "bad_dtype.npy", npy(">f4", [1], b"\x00\x00\x80\x3f"))
    write("npy", "bad_truncated.npy", npy("<f4", [4], f32(1, 2)))


# --- IDX and gzip -----------------------------------------------------------------------
def idx(code, shape, raw):
    return b"\x00\x00" + bytes([code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + raw


def gzip_member(data, flags=0, level=6, extra=b"", name=b"", comment=b""):
    """A gzip member with the optional header fields (FEXTRA, FNAME, FCOMMENT, FHCRC)."""
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\x00\x00\x00\x00\x00\xff"
    if flags & 4:
        head += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        head += name + b"\x00"
    if flags & 16:
        head += comment + b"\x00"
    if flags & 2:
        head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    return head + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def idx_seeds():
    u8 = idx(0x08, [2, 3], bytes(range(6)))
    write("idx", "u8.idx", u8)
    write("idx", "i8.idx", idx(0x09, [2], b"\x80\x7f"))
    write("idx", "i16.idx", idx(0x0B, [2], struct.pack(">2h", -300, 300)))
    write("idx", "i32.idx", idx(0x0C, [1, 2], struct.pack(">2i", -1, 2 ** 31 - 1)))
    write("idx", "f32.idx", idx(0x0D, [2], struct.pack(">2f", 1.5, -0.0)))
    write("idx", "f64.idx", idx(0x0E, [1], struct.pack(">d", 1e-300)))
    write("idx", "rank0.idx", idx(0x08, [], b"\x05"))
    write("idx", "bad_overlong.idx", idx(0x08, [2], b"\x01\x02\x03"))
    # Compressed: stored, fixed and dynamic Huffman blocks; header fields; two members.
    images = idx(0x08, [4, 8, 8], bytes((i * 7 + (i >> 3)) % 251 for i in range(256)))
    write("idx", "stored.idx.gz", gzip_member(u8, level=0))
    write("idx", "fixed.idx.gz", gzip_member(u8, level=1))
    write("idx", "dynamic.idx.gz", gzip_member(images, level=9))
    write("idx", "repeats.idx.gz", gzip_member(idx(0x08, [600], b"ab" * 300), level=9))
    write("idx", "header_fields.idx.gz",
          gzip_member(u8, flags=2 | 4 | 8 | 16, extra=b"XY\x02\x00hi", name=b"u8.idx", comment=b"seed"))
    write("idx", "python_gzip.idx.gz", gzip.compress(u8, mtime=0))
    write("idx", "two_members.idx.gz", gzip_member(u8[:5]) + gzip_member(u8[5:], level=0))
    good = gzip_member(u8)
    write("idx", "bad_crc.idx.gz", good[:-8] + b"\0\0\0\0" + good[-4:])
    write("idx", "bad_trailing.idx.gz", good + b"\0\0")
    write("idx", "bad_truncated.idx.gz", good[:-3])


# --- checkpoints --------------------------------------------------------------------------
def checkpoint_seeds():
    """Checkpoints of fuzz_checkpoint.cpp's tiny model (fingerprint "fuzz"), with the
    checksum dlc's checkpoints carry."""
    meta = {"format": "dlc-checkpoint", "model": "fuzz", "fingerprint": "fuzz", "seed": "12345",
            "batch": "4", "samples": "20", "epochs": "6", "step": "13", "epoch": "2",
            "batch_in_epoch": "3", "loss_sum": "0x1.3333333333334p-2", "correct": "9",
            "seen": "12", "history": "0x1.5555555555555p-2,0x1p-1,0x1.2492492492492p-2,0x1.8p-1;"
            "0x1p-2,0x1.4p-1,-0x1p+0,-0x1p+0", "best_val_loss": "0x1.2492492492492p-2",
            "best_epoch": "1", "wait": "1"}
    kernel = ("dense_1.kernel", "F32", [2, 3], f32(0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
    bias = ("dense_1.bias", "F32", [3], f32(0, 0, 0.25))
    best = ("best/dense_1.bias", "F32", [3], f32(1, 2, 3))
    write("checkpoint", "full.safetensors", checksummed([bias, kernel, best], meta))
    write("checkpoint", "no_history.safetensors", checksummed(
        [kernel, bias], dict(meta, history="", epoch="0", step="3", best_epoch="0", wait="0")))
    write("checkpoint", "bad_fingerprint.safetensors", checksummed([kernel, bias], dict(meta, fingerprint="abc")))
    write("checkpoint", "bad_missing.safetensors", checksummed([kernel], meta))
    write("checkpoint", "bad_shape.safetensors",
          checksummed([kernel, ("dense_1.bias", "F32", [1, 3], f32(0, 0, 0))], meta))
    write("checkpoint", "bad_number.safetensors", checksummed([kernel, bias], dict(meta, step="x13")))
    write("checkpoint", "bad_no_checksum.safetensors", safetensors([kernel, bias], meta))


if __name__ == "__main__":
    json_seeds()
    os.makedirs(os.path.join(HERE, "corpus", "model"), exist_ok=True)
    model_seeds()
    safetensors_seeds()
    npy_seeds()
    idx_seeds()
    checkpoint_seeds()
