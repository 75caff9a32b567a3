# Helpers for the command-line tests in tests/cli/. Each test script sources this file;
# ctest passes DLC (the binary) and SRC (the source tree).
set -u
: "${DLC:?DLC must point at the dlc binary}"
: "${SRC:?SRC must point at the source tree}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlc-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0
passes=0
# A test that cannot run (a missing tool or data set) says why on stdout and exits with
# this status, which ctest reports as "Skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
SKIPPED=77

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_ok CMD...: the command exits 0; its stdout is left in $TMP/out.
expect_ok() {
  if "$@" >"$TMP/out" 2>"$TMP/err"; then
    passes=$((passes + 1))
  else
    fail "expected success: $* (exit $?): $(head -c 600 "$TMP/err")"
  fi
}

# expect_error "SUBSTRING" CMD...: exits 1 with one line on stderr containing SUBSTRING,
# and no crash (signals, aborts and sanitizer reports show as other exit codes or lines).
expect_error() {
  local want=$1
  shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  local lines
  lines=$(grep -vc '^note:' "$TMP/err")
  if [ $rc -ne 1 ]; then
    fail "expected exit 1, got $rc: $* : $(head -c 600 "$TMP/err")"
  elif [ "$lines" -ne 1 ]; then
    fail "expected one error line, got $lines: $* : $(head -c 600 "$TMP/err")"
  elif ! grep -qF -- "$want" "$TMP/err"; then
    fail "expected error containing '$want': $* : got $(cat "$TMP/err")"
  else
    passes=$((passes + 1))
  fi
}

# expect_output "SUBSTRING": the last command's stdout contains SUBSTRING.
expect_output() {
  if grep -qF -- "$1" "$TMP/out"; then
    passes=$((passes + 1))
  else
    fail "expected output containing '$1', got: $(head -c 800 "$TMP/out")"
  fi
}

# band_idx_data DIR: a tiny IDX data set in DIR (train-* 96 samples, t10k-* 30): 3
# classes of 4x4 u8 images, class c with a bright band in pixels [6c, 6c+6).
band_idx_data() {
  mkdir -p "$1"
  python3 - "$1" <<'PY'
import os, struct, sys
d = sys.argv[1]
def write(prefix, n, seed):
    imgs, labels = bytearray(), bytearray()
    for i in range(n):
        c = (i * 7 + seed) % 3
        for p in range(16):
            imgs.append((200 if p // 6 == c else 30) + (i * 31 + p * 17 + seed) % 50)
        labels.append(c)
    open(os.path.join(d, prefix + "-images-idx3-ubyte"), "wb").write(struct.pack(">IIII", 0x803, n, 4, 4) + imgs)
    open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "wb").write(struct.pack(">II", 0x801, n) + labels)
write("train", 96, 0)
write("t10k", 30, 5)
PY
}

# band_mlp_model FILE OPTIMIZER: a small MLP for band_idx_data's 4x4 images, 3 classes,
# with the accuracy metric and the given optimizer ("sgd", "adam", ...).
band_mlp_model() {
  cat >"$1" <<JSON
{"name": "band_mlp", "input_shape": [4, 4],
 "layers": [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"},
            {"type": "dense", "units": 3, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "$2", "lr": ${3:-0.5}}, "batch_size": 8,
 "metrics": ["accuracy"]}
JSON
}

# finish: prints the tally and exits non-zero on any failure.
finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
