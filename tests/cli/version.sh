#!/usr/bin/env bash
# dlc version reports the pinned LLVM (19.1) and the host; unknown commands are errors.
source "$SRC/tests/lib.sh"
expect_ok "$DLC" version
expect_output "LLVM 19.1"
expect_output "host: "
expect_error "unknown command 'chekc', did you mean 'check'?" "$DLC" chekc model.json
expect_error "expected 0 arguments" "$DLC" version extra
finish
