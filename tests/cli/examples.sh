#!/usr/bin/env bash
# Every example model passes `dlc check` and `dlc summary`.
source "$SRC/tests/lib.sh"
for m in "$SRC"/examples/*.json; do
  expect_ok "$DLC" check "$m"
  expect_output ": ok: model"
  expect_ok "$DLC" summary "$m"
  expect_output "Total params:"
done
finish
