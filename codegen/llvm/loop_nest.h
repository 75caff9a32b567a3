// Element-wise loops (passes/steps.h Loop) as LLVM loop nests: the nest passes/loop_axes.h
// gives, as counted loops with i64 induction variables.
#pragma once

#include "codegen/backend.h"
#include "passes/loop_axes.h"

#include <llvm/IR/IRBuilder.h>

#include <functional>
#include <vector>

namespace dlc::codegen::llvmgen {

struct LoopElement {
  llvm::Value* index = nullptr;      // i64: i, the element's position in the loop
  std::vector<llvm::Value*> offsets; // i64 per operand: its element offset for i
};

// A block [begin, end) (i64 values) of the nest's outermost axis: what one thread runs of
// a loop split across the kernel pool.
struct OuterRange {
  llvm::Value* begin;
  llvm::Value* end;
};

// Emits the loop at the builder's insertion point and calls `body` once, inside the
// innermost loop; the builder is left after the loop. `n` is the run's batch (i64),
// which batched trip counts scale with. With `range`, only that block of the outermost
// axis runs.
void emit_loop_nest(llvm::IRBuilder<>& b, Extent trip, const std::vector<Index>& operands, llvm::Value* n,
                    const std::function<void(const LoopElement&)>& body, const OuterRange* range = nullptr);

using passes::max_offset;
using passes::outer_extent;

} // namespace dlc::codegen::llvmgen
