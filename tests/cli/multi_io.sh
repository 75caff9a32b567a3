#!/usr/bin/env bash
# Several inputs and trained outputs from the command line (issue #19): the encoder-decoder
# example trains on named arrays (--data NAME=FILE.npy:TEST.npy,...) and reports each
# output's loss and metrics as Keras names them; dlc eval reads the same data on both
# backends; the errors of named data. Ensembles: dlc eval and dlc predict with several
# --weights, the ensemble's accuracy checked against the mean of the members' outputs.
source "$SRC/tests/lib.sh"
D="$TMP/rev"
python3 "$SRC/examples/data/make_sequences.py" "$D" --task reverse --length 8 --vocab 10 --train 2000 --test 300 \
  >/dev/null || fail "make_sequences.py --task reverse"
R="$D/reverse"
DATA="source=${R}_source_train.npy:${R}_source_test.npy,decoder_in=${R}_decoder_in_train.npy:${R}_decoder_in_test.npy"
DATA="$DATA,tokens=${R}_tokens_train.npy:${R}_tokens_test.npy,first=${R}_first_train.npy:${R}_first_test.npy"
compare() { # compare WHAT VALUE OP BOUND
  if [ -n "$2" ] && python3 -c "import sys; sys.exit(0 if float('$2') $3 $4 else 1)"; then
    passes=$((passes + 1))
  else
    fail "$1: expected $3 $4, got '$2'"
  fi
}
# value NAME: the number after NAME on the last run's "test:" line.
value() { sed -n "s/^test: .*\b$1 \([0-9.]*\).*/\1/p" "$TMP/out"; }

# The encoder-decoder: both outputs learn (chance: 1/8 per position, 1/8 for the first id).
expect_ok "$DLC" train "$SRC/examples/seq2seq_reverse.json" --data "$DATA" --epochs 6 --history "$TMP/h.csv" \
  -o "$TMP/rev.safetensors"
expect_output "training seq2seq_reverse on named arrays: 2000 samples (validation 0, test 300)"
compare "reversal test tokens_accuracy" "$(value tokens_accuracy)" ">=" 0.9
compare "reversal test first_accuracy" "$(value first_accuracy)" ">=" 0.9
if [ "$(head -1 "$TMP/h.csv")" = "epoch,loss,tokens_loss,first_loss,tokens_accuracy,first_accuracy,lr,time" ]; then
  passes=$((passes + 1))
else
  fail "history header: $(head -1 "$TMP/h.csv")"
fi
# The total is tokens_loss + 0.2 first_loss in every row.
python3 - "$TMP/h.csv" <<'PY' && passes=$((passes + 1)) || fail "history: loss is not tokens_loss + 0.2 first_loss"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows and all(abs(float(r["loss"]) - float(r["tokens_loss"]) - 0.2 * float(r["first_loss"])) < 1e-4 for r in rows)
PY
test_line=$(grep '^test:' "$TMP/out")
for backend in jit ref; do
  expect_ok "$DLC" eval "$SRC/examples/seq2seq_reverse.json" --data "$DATA" --weights "$TMP/rev.safetensors" --backend $backend
  expect_output "named arrays (test): 300 samples"
  # The test line of training (after its last step) and eval agree.
  want=$(echo "$test_line" | sed 's/^test: //')
  got=$(grep '^loss' "$TMP/out")
  python3 -c "
import sys
a, b = sys.argv[1].split(), sys.argv[2].split()
assert a[0::2] == b[0::2], (a, b)
assert all(abs(float(x) - float(y)) < 2e-3 for x, y in zip(a[1::2], b[1::2])), (a, b)" "$want" "$got" &&
    passes=$((passes + 1)) || fail "$backend eval '$got' differs from training's test line '$want'"
done

# Named data errors, one line each.
expect_error "no array for 'first' (the model's trained output): add first=FILE.npy" \
  "$DLC" train "$SRC/examples/seq2seq_reverse.json" --data "source=${R}_source_train.npy,decoder_in=${R}_decoder_in_train.npy,tokens=${R}_tokens_train.npy"
expect_error "'target' is neither an input of model 'seq2seq_reverse' nor an output a loss trains" \
  "$DLC" train "$SRC/examples/seq2seq_reverse.json" --data "$DATA,target=${R}_first_train.npy"
expect_error "has 2 inputs: name an array for each, --data source=FILE.npy" \
  "$DLC" train "$SRC/examples/seq2seq_reverse.json" --data "${R}_source_train.npy,${R}_tokens_train.npy"
expect_error "named arrays 'first': targets have shape [8], the model's output is 10 per sample" \
  "$DLC" train "$SRC/examples/seq2seq_reverse.json" --data "source=${R}_tokens_train.npy,decoder_in=${R}_decoder_in_train.npy,tokens=${R}_tokens_train.npy,first=${R}_source_train.npy"

# Ensembles: two members trained from different seeds on the band images.
band_idx_data "$TMP/band"
band_mlp_model "$TMP/mlp.json" sgd 0.5
for seed in 1 2; do
  expect_ok "$DLC" train "$TMP/mlp.json" --data "$TMP/band" --epochs 1 --seed $seed -o "$TMP/m$seed.safetensors"
done
expect_ok "$DLC" eval "$TMP/mlp.json" --data "$TMP/band" --weights "$TMP/m1.safetensors" --weights "$TMP/m2.safetensors"
expect_output "an ensemble of 2 members (their outputs averaged)"
expect_output "member $TMP/m1.safetensors: loss"
expect_output "member $TMP/m2.safetensors: loss"
ensemble=$(sed -n 's/^ensemble: accuracy \([0-9.]*\)$/\1/p' "$TMP/out")
# The test images as NPY, each member's outputs and the ensemble's from dlc predict.
python3 - "$TMP/band" "$TMP/x.npy" "$TMP/labels.txt" <<'PY'
import gzip, os, struct, sys
d = sys.argv[1]
def idx(name):
    p = os.path.join(d, name)
    b = open(p, "rb").read()
    return b
imgs = idx([n for n in os.listdir(d) if n.startswith("t10k-images")][0])
labs = idx([n for n in os.listdir(d) if n.startswith("t10k-labels")][0])
n = struct.unpack(">I", imgs[4:8])[0]
h = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 4, 4), }" % n
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(sys.argv[2], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + imgs[16:16 + 16 * n])
open(sys.argv[3], "w").write(" ".join(str(v) for v in labs[8:8 + n]))
PY
expect_ok "$DLC" predict "$TMP/mlp.json" --input "$TMP/x.npy" --weights "$TMP/m1.safetensors" -o "$TMP/y1.npy"
expect_ok "$DLC" predict "$TMP/mlp.json" --input "$TMP/x.npy" --weights "$TMP/m2.safetensors" -o "$TMP/y2.npy"
expect_ok "$DLC" predict "$TMP/mlp.json" --input "$TMP/x.npy" --weights "$TMP/m1.safetensors" \
  --weights "$TMP/m2.safetensors" -o "$TMP/mean.npy"
python3 - "$TMP" "$ensemble" <<'PY' && passes=$((passes + 1)) || fail "the ensemble's output or accuracy is not the members' mean"
import struct, sys
t, printed = sys.argv[1], float(sys.argv[2])
def floats(p):
    b = open(p, "rb").read(); h = struct.unpack("<H", b[8:10])[0]; d = b[10 + h:]
    return struct.unpack("<%df" % (len(d) // 4), d)
a, b, m = floats(t + "/y1.npy"), floats(t + "/y2.npy"), floats(t + "/mean.npy")
assert len(a) == len(b) == len(m)
assert all(abs((x + y) / 2 - z) < 1e-6 for x, y, z in zip(a, b, m))
labels = [int(v) for v in open(t + "/labels.txt").read().split()]
rows = [m[3 * i:3 * i + 3] for i in range(len(labels))]
acc = sum(max(range(3), key=r.__getitem__) == l for r, l in zip(rows, labels)) / len(labels)
assert abs(acc - printed) < 1e-4, (acc, printed)
PY
# dlc predict through a Runner on a one-input model with two losses: the runner writes both
# trained outputs; predict prints the first (the interpreter's output of the same name).
cat >"$TMP/heads.json" <<'JSON'
{"name": "heads", "inputs": [{"name": "x", "shape": [3]}],
 "layers": [{"type": "dense", "name": "u", "inputs": "x", "units": 4, "activation": "softmax"},
            {"type": "dense", "name": "v", "inputs": "x", "units": 1}],
 "outputs": ["u", "v"], "loss": {"u": "categorical_crossentropy", "v": "mse"}}
JSON
python3 - "$TMP/hx.npy" <<'PY'
import struct, sys
h = "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 3), }"
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<120f", *[((i * 7) % 11) / 10 for i in range(120)]))
PY
expect_ok "$DLC" predict "$TMP/heads.json" --input "$TMP/hx.npy" --backend jit --batch 16 -o "$TMP/hj.npy"
expect_ok "$DLC" predict "$TMP/heads.json" --input "$TMP/hx.npy" -o "$TMP/hr.npy"
python3 - "$TMP/hj.npy" "$TMP/hr.u.npy" <<'PY' && passes=$((passes + 1)) || fail "predict through the JIT differs from the interpreter's first output"
import struct, sys
def floats(p):
    b = open(p, "rb").read(); h = struct.unpack("<H", b[8:10])[0]; d = b[10 + h:]
    return struct.unpack("<%df" % (len(d) // 4), d)
a, b = floats(sys.argv[1]), floats(sys.argv[2])
assert len(a) == len(b) == 160 and all(abs(x - y) < 1e-5 for x, y in zip(a, b))
PY

# A model with stateful layers cannot form an ensemble (each member would carry the states on).
cat >"$TMP/st.json" <<'JSON'
{"name": "st", "input_shape": [3, 2], "layers": [{"type": "simple_rnn", "units": 2, "stateful": true}], "batch_size": 2}
JSON
python3 - "$TMP/st_x.npy" <<'PY'
import struct, sys
h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2), }"
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<12f", *[0.5] * 12))
PY
expect_error "an ensemble of a model with stateful layers" \
  "$DLC" predict "$TMP/st.json" --input "$TMP/st_x.npy" --weights "$TMP/m1.safetensors" --weights "$TMP/m2.safetensors"
expect_error "dlc train: --weights given twice" \
  "$DLC" train "$TMP/mlp.json" --data "$TMP/band" --weights "$TMP/m1.safetensors" --weights "$TMP/m2.safetensors"
finish
