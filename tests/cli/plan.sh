#!/usr/bin/env bash
# dlc plan and the compiled stages of dlc show: the script lines of every example meet
# the memory target; bad pipelines are one-line errors; golden files fix the printed
# stages before and after the clean-up passes, and the kernels, schedule and plan.
#
# Goldens: tests/golden/passes/NAME--STAGE[--train].txt is the output of
#   dlc show MODEL --emit=STAGE [--train --batch 2]
# where MODEL is tests/golden/passes/NAME.json or else examples/NAME.json. After an
# intended change, regenerate and review the diff:
#   UPDATE_GOLDEN=1 DLC=build/bin/dlc SRC=. bash tests/cli/plan.sh && git diff tests/golden/passes
source "$SRC/tests/lib.sh"
shopt -s nullglob

# expect_line REGEX: the last command's stdout has a line matching REGEX (extended).
expect_line() {
  if grep -qE -- "$1" "$TMP/out"; then passes=$((passes + 1)); else fail "no line matching '$1' in: $(head -c 600 "$TMP/out")"; fi
}

# The two script lines, and arena <= 1.05 x lower bound.
check_plan_lines() {
  expect_line '^kernels: [0-9]+ \(from [0-9]+ ops\)$'
  expect_line '^arena: [0-9]+ bytes, lower bound: [0-9]+ bytes, ratio: [0-9]+\.[0-9]{3}$'
  if awk '/^arena:/ { a = $2; l = $6; exit !(a >= l && a <= 1.05 * l) }' "$TMP/out"; then
    passes=$((passes + 1))
  else
    fail "arena above 1.05 x lower bound: $* $(grep '^arena:' "$TMP/out")"
  fi
}

for m in "$SRC"/examples/*.json; do
  name=$(basename "$m" .json)
  batch=$(grep -oE '"batch_size": *[0-9]+' "$m" | grep -oE '[0-9]+$')
  for args in "" "--batch ${batch:-1}" "--train" "--train --batch 1"; do
    # shellcheck disable=SC2086
    expect_ok "$DLC" plan "$m" $args
    check_plan_lines "$name $args"
  done
done

# The fusion target: training graphs of mlp and cnn have >= 40% fewer kernels than ops.
for name in mlp cnn; do
  expect_ok "$DLC" plan "$SRC/examples/$name.json" --train
  if awk '/^kernels:/ { k = $2; n = $4; exit !(k <= 0.6 * n) }' "$TMP/out"; then
    passes=$((passes + 1))
  else
    fail "$name: fewer than 40% fewer kernels than ops: $(grep '^kernels:' "$TMP/out")"
  fi
done

# The timeline, largest buffers, and the pass manager's flags.
mlp="$SRC/examples/mlp.json"
expect_ok "$DLC" plan "$mlp" --train --emit=plan
expect_output "timeline ("
expect_ok "$DLC" plan "$mlp" --train
expect_output "largest buffers:"
expect_output "packing: "
"$DLC" plan "$mlp" --train --print-after=dce,fuse --time-passes >"$TMP/out" 2>"$TMP/err" || fail "plan with --print-after"
grep -q -- "// ----- after dce -----" "$TMP/err" && grep -q -- "// ----- after fuse -----" "$TMP/err" &&
  ! grep -q -- "after cse" "$TMP/err" && grep -q -- "// ----- pass timing -----" "$TMP/err" &&
  passes=$((passes + 1)) || fail "--print-after / --time-passes output: $(head -c 300 "$TMP/err")"
"$DLC" plan "$mlp" --print-after-all >"$TMP/out" 2>"$TMP/err"
[ "$(grep -c -- '// ----- after ' "$TMP/err")" -eq 8 ] && passes=$((passes + 1)) || fail "--print-after-all: $(grep -c -- '// ----- after ' "$TMP/err") stages"
expect_ok "$DLC" plan "$mlp" --passes=cse --verify-each
check_plan_lines "--passes=cse"

# Bad input: one line, exit 1.
expect_error "unknown pass 'dcee', did you mean 'dce'?" "$DLC" plan "$mlp" --passes=cse,dcee
expect_error "unknown pass 'inline'; passes: canonicalize, fold, cse, dce, fuse, lower, schedule, memplan" \
  "$DLC" plan "$mlp" --passes=inline
expect_error "'cse' cannot run after 'fuse'" "$DLC" plan "$mlp" --passes=fuse,cse
expect_error "unknown pass 'fuze', did you mean 'fuse'?" "$DLC" plan "$mlp" --print-after=fuze
expect_error "unknown pass 'memplna', did you mean 'memplan'?" "$DLC" show "$mlp" --emit=kernels --passes=memplna
expect_error "--emit: unknown output 'timeline'" "$DLC" plan "$mlp" --emit=timeline
expect_error "--emit: unknown stage 'kernel'" "$DLC" show "$mlp" --emit=kernel
expect_error "the model has no 'loss'" "$DLC" plan "$SRC/tests/golden/passes/no_loss.json" --train

# Golden files.
goldens=("$SRC"/tests/golden/passes/*--*.txt)
[ ${#goldens[@]} -ge 4 ] || fail "expected golden files in tests/golden/passes, found ${#goldens[@]}"
for golden in "${goldens[@]}"; do
  base=$(basename "$golden" .txt)
  IFS='|' read -r name stage train <<<"${base//--/|}"
  model="$SRC/tests/golden/passes/$name.json"
  [ -f "$model" ] || model="$SRC/examples/$name.json"
  args=(show "$model" --emit="$stage")
  [ "$train" = train ] && args+=(--train --batch 2)
  expect_ok "$DLC" "${args[@]}"
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$TMP/out" "$golden"
    echo "updated $golden"
  elif diff -u "$golden" "$TMP/out" >"$TMP/diff"; then
    passes=$((passes + 1))
  else
    fail "$base: dlc ${args[*]} differs from $golden:"$'\n'"$(head -c 3000 "$TMP/diff")"
  fi
done
finish
