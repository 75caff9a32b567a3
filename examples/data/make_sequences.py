#!/usr/bin/env python3
"""Writes the sequence tasks of the recurrent examples as .npy files (pure Python 3, no numpy).

  sentiment (many-to-one, examples/lstm_sentiment.json, dense_sentiment.json):
    x [N, T] float32 token ids in [0, V); every sequence holds exactly one A (id V/2 - 1)
    and one B (id V/2) at random positions among distractors (the other ids); label 1
    when A comes before B, else 0 (int32 [N]). Both labels are equally likely and every
    sequence holds one A and one B, so only their order decides: counting tokens gives
    50%, and A and B sit in the middle of the id range, so no single threshold on a raw
    id finds them.
  tagging (many-to-many, examples/gru_tagger.json):
    x [N, T] float32 ids in [0, V); tag of position t (int32 [N, T]): 0 at t = 0 or when
    x[t] == x[t-1], 1 when x[t] > x[t-1], 2 when x[t] < x[t-1] (a rule over the left
    neighbour, which a left-to-right recurrent layer sees).
  tagging_padded (examples/gru_tagger_masked.json): the tagging rule over sequences of
    3 to T real ids in [1, V), post-padded to T with id 0 (an embedding's mask_zero
    marks it); the tags of padded positions are 1, which a masked loss and masked
    metrics ignore (docs/recurrent.md, "Padding and masking").

  reverse (encoder-decoder, examples/seq2seq_reverse.json): source [N, T] float32 ids
    in [2, V); the answer is the source reversed (int32 [N, T], "tokens"); the decoder
    reads the answer shifted right behind a start id 1 (float32 [N, T], "decoder_in":
    teacher forcing); and "first" (int32 [N]) is the source's first id, which an
    auxiliary head predicts from the encoder's last state.

Usage: make_sequences.py OUT_DIR [--task sentiment|tagging|tagging_padded|reverse|all] [--train N]
       [--test N] [--length T] [--vocab V] [--seed S]
Files: OUT_DIR/{sentiment,tagging,tagging_padded}_{x,y}_{train,test}.npy,
       OUT_DIR/reverse_{source,decoder_in,tokens,first}_{train,test}.npy
"""
import argparse
import pathlib
import random
import struct


def write_npy(path, rows, descr, fmt):
    """rows: a list of equal-length lists (shape [N, T]) or of scalars (shape [N])."""
    if rows and isinstance(rows[0], list):
        shape = "(%d, %d)" % (len(rows), len(rows[0]))
        flat = [v for r in rows for v in r]
    else:
        shape = "(%d,)" % len(rows)
        flat = rows
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = struct.pack("<%d%s" % (len(flat), fmt), *flat)
    pathlib.Path(path).write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


def sentiment(rng, n, length, vocab):
    xs, ys = [], []
    tok_a, tok_b = vocab // 2 - 1, vocab // 2
    others = [v for v in range(vocab) if v not in (tok_a, tok_b)]
    for i in range(n):
        seq = [rng.choice(others) for _ in range(length)]
        a, b = rng.sample(range(length), 2)
        label = i % 2  # balanced
        if (a < b) != (label == 1):
            a, b = b, a
        seq[a], seq[b] = tok_a, tok_b
        xs.append([float(v) for v in seq])
        ys.append(label)
    return xs, ys


def tagging(rng, n, length, vocab):
    xs, ys = [], []
    for _ in range(n):
        seq = [rng.randrange(vocab) for _ in range(length)]
        tags = [0] + [0 if seq[t] == seq[t - 1] else (1 if seq[t] > seq[t - 1] else 2) for t in range(1, length)]
        xs.append([float(v) for v in seq])
        ys.append(tags)
    return xs, ys


def tagging_padded(rng, n, length, vocab):
    xs, ys = [], []
    for _ in range(n):
        real = rng.randrange(3, length + 1)
        seq = [rng.randrange(1, vocab) for _ in range(real)]
        tags = [0] + [0 if seq[t] == seq[t - 1] else (1 if seq[t] > seq[t - 1] else 2) for t in range(1, real)]
        xs.append([float(v) for v in seq] + [0.0] * (length - real))
        ys.append(tags + [1] * (length - real))
    return xs, ys


def reverse(rng, n, length, vocab):
    source, decoder_in, tokens, first = [], [], [], []
    for _ in range(n):
        seq = [rng.randrange(2, vocab) for _ in range(length)]
        answer = seq[::-1]
        source.append([float(v) for v in seq])
        decoder_in.append([1.0] + [float(v) for v in answer[:-1]])
        tokens.append(answer)
        first.append(seq[0])
    return source, decoder_in, tokens, first


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--task", choices=["sentiment", "tagging", "tagging_padded", "reverse", "all"], default="all")
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--length", type=int, default=12)
    p.add_argument("--vocab", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.length < 2 or a.vocab < 4 or a.train < 1 or a.test < 1:
        p.error("need --length >= 2, --vocab >= 4 and at least one train and one test sample")
    out = pathlib.Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for task, make in (("sentiment", sentiment), ("tagging", tagging), ("tagging_padded", tagging_padded)):
        if a.task not in (task, "all"):
            continue
        rng = random.Random("%s-%d" % (task, a.seed))
        for split, n in (("train", a.train), ("test", a.test)):
            xs, ys = make(rng, n, a.length, a.vocab)
            write_npy(out / ("%s_x_%s.npy" % (task, split)), xs, "<f4", "f")
            write_npy(out / ("%s_y_%s.npy" % (task, split)), ys, "<i4", "i")
    if a.task in ("reverse", "all"):
        rng = random.Random("reverse-%d" % a.seed)
        for split, n in (("train", a.train), ("test", a.test)):
            source, decoder_in, tokens, first = reverse(rng, n, a.length, a.vocab)
            write_npy(out / ("reverse_source_%s.npy" % split), source, "<f4", "f")
            write_npy(out / ("reverse_decoder_in_%s.npy" % split), decoder_in, "<f4", "f")
            write_npy(out / ("reverse_tokens_%s.npy" % split), tokens, "<i4", "i")
            write_npy(out / ("reverse_first_%s.npy" % split), first, "<i4", "i")


if __name__ == "__main__":
    main()
