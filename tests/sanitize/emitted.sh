#!/usr/bin/env bash
# Emitted code under the sanitizers, for every example model: `dlc compile` (with --train
# --input-grad when the model has a loss), then tests/fixtures/codegen/threads_check.cpp — two
# contexts on two threads, one with kernel threads, then the other alone after the first
# is destroyed — built once with ThreadSanitizer and once with AddressSanitizer +
# UndefinedBehaviorSanitizer (clang++-19), and run. Any race, memory error or undefined
# behaviour fails the test. `make test-sanitize` runs this (CI does too).
source "$SRC/tests/lib.sh"
CXX=${CXX_SANITIZE:-clang++-19}
JOBS=${JOBS:-2}
FIXTURE="$SRC/tests/fixtures/codegen/threads_check.cpp"
if ! command -v "$CXX" >/dev/null; then
  echo "skipped: $CXX is not installed"
  exit "$SKIPPED"
fi
# Too large to run under a sanitizer here (138 M parameters: 0.5 GB of weights, 2 GB with
# Adam's state, times the sanitizers' shadow memory); codegen_cpp_build_test compiles it.
SKIP="vgg16"

# The first bytes of a log on one line.
excerpt() { head -c 600 "$1" | tr '\n' ' '; }

check_model() { # check_model NAME: prints one line, "NAME: ok" or the failure
  local name=$1 dir="$TMP/$1" train=()
  mkdir -p "$dir"
  grep -q '"loss"' "$SRC/examples/$name.json" && train=(--train --input-grad)
  if ! "$DLC" compile "$SRC/examples/$name.json" -o "$dir/net.cpp" --batch 3 "${train[@]}" >"$dir/log" 2>&1; then
    echo "$name: dlc compile failed: $(excerpt "$dir/log")"
    return
  fi
  local flags=(-std=c++17 -O0 -g -Wall -Wextra -Werror -I "$dir" "$FIXTURE" "$dir/net.cpp")
  local san
  for san in thread address,undefined; do
    local exe="$dir/check_${san%%,*}"
    if ! "$CXX" "${flags[@]}" -fsanitize="$san" -fno-sanitize-recover=all -o "$exe" >"$dir/log" 2>&1; then
      echo "$name: the $san build failed: $(excerpt "$dir/log")"
      return
    fi
    if ! TSAN_OPTIONS=halt_on_error=1 "$exe" >"$dir/log" 2>&1 || ! grep -qx ok "$dir/log"; then
      grep -m3 -E 'ERROR|WARNING|runtime error|computed|cannot' "$dir/log" >"$dir/why"
      echo "$name: $san: $(excerpt "$dir/why")"
      return
    fi
  done
  echo "$name: ok"
}

models=()
for f in "$SRC"/examples/*.json; do
  name=$(basename "$f" .json)
  if [[ " $SKIP " == *" $name "* ]]; then
    echo "$name: skipped (too large for a sanitizer run)"
  else
    models+=("$name")
  fi
done
export -f check_model excerpt
export DLC SRC TMP CXX FIXTURE
printf '%s\n' "${models[@]}" | xargs -P "$JOBS" -I{} bash -c 'check_model "$1"' _ {} >"$TMP/results"
cat "$TMP/results"
passes=$(grep -c ': ok$' "$TMP/results")
failures=$(grep -vc ': ok$' "$TMP/results")
finish
