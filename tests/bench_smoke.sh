#!/usr/bin/env bash
# The benchmark's programs run (not how fast: that is bench/run.py's job): dlc_bench, the
# CMake target linked like dlc, gives a result line for a training and an inference
# measure; bench/gemm.cpp rejects bad arguments with one error line and accepts a thread
# count alone. DLC_BENCH is the dlc_bench binary.
source "$SRC/tests/lib.sh"
: "${DLC_BENCH:?DLC_BENCH must point at dlc_bench}"
expect_ok "$DLC_BENCH" latency1_mlp --seconds 0.05 --threads 1
expect_output "result latency1_mlp "
expect_ok "$DLC_BENCH" train_cnn --seconds 0.05 --threads 2
expect_output "result train_cnn "
if command -v g++ >/dev/null; then
  g++ -std=c++20 -O1 -I "$SRC" -pthread "$SRC/bench/gemm.cpp" -o "$TMP/gemm" 2>"$TMP/cc" || fail "gemm.cpp: $(head -c 600 "$TMP/cc")"
  expect_error "gemm: thread count 'x' is not a whole number in [1, 256]" "$TMP/gemm" x
  expect_error "gemm: thread count '1.5' is not a whole number" "$TMP/gemm" 1.5
  expect_error "gemm: seconds '0' is not a number in [0.001, 3600]" "$TMP/gemm" 1 0
  expect_ok "$TMP/gemm" 1 0.001 mlp_infer1_1x500x500
  expect_output "measure: mlp_infer1_1x500x500_t1 gflops="
else
  echo "skipped: bench/gemm.cpp's argument checks (no g++)"
fi
finish
