#!/usr/bin/env bash
# Runs each libFuzzer harness of fuzz/ (built by `make fuzz-build`) for FUZZ_SECONDS
# seconds on its corpus in BUILD/corpus/TARGET, which starts as a copy of the committed
# seeds (fuzz/corpus/TARGET) and keeps what earlier runs found; the committed corpus is
# never written. A crash, timeout, leak or out-of-memory leaves the input in
# BUILD/artifacts/TARGET/ and the log in BUILD/logs/TARGET.log, and makes the script exit
# 1 after the other harnesses ran. docs/fuzzing.md has the details.
#
#   scripts/fuzz.sh [BUILD]          # BUILD defaults to build-fuzz
#   FUZZ_SECONDS=600 FUZZ_TARGETS="idx npy" scripts/fuzz.sh
set -uo pipefail

build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-json model onnx safetensors npy idx checkpoint}
src=$(cd "$(dirname "$0")/.." && pwd)

# Longest input per harness: room for every structure of the format, small enough that
# mutations stay focused (fuzz_model also skips inputs over 64 KB itself).
max_len() {
  case $1 in
  model | idx | onnx) echo 16384 ;;
  npy) echo 4096 ;;
  *) echo 8192 ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for t in $targets; do
  bin=$build/fuzz_$t
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing (make fuzz-build)" >&2
    failed+=("$t")
    continue
  fi
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  log=$build/logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$build/logs"
  cp "$src/fuzz/corpus/$t/"* "$corpus/"
  echo "fuzz: $t for ${seconds}s ($(ls "$corpus" | wc -l) inputs in $corpus)"
  "$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  summary+=("$(printf '%-12s cov %-6s execs %-9s exec/s %-7s %s' "$t" "${cov:-?}" "${execs:-?}" "${rate:-?}" \
    "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); log: $log" >&2
    grep -E '^(==[0-9]+==|SUMMARY|fuzz:)|runtime error|#[0-9]+ 0x' "$log" | head -n 30 >&2
    grep -E 'Test unit written to|artifact_prefix' "$log" | sed 's/^/fuzz: /' >&2
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/, logs in $build/logs/)" >&2
  exit 1
fi
