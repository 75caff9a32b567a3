// Element-wise loops (passes/steps.h Loop) as loop nests the LLVM loop vectoriser
// handles: counted loops with i64 induction variables, the inner one walking each operand
// at a constant stride (1, or 0 for a broadcast operand), instead of the lowering's flat
// `(i / div % mod) * mul` index arithmetic per element.
//
// The lowering's index terms of one loop come from one shape (the kernel's iteration
// space, or a copy's output), so their divisors form a chain 1 | b1 | b2 | ...: each link
// is an axis of the nest, and an operand's stride along it is the sum of what its terms
// contribute. Adjacent axes that every operand walks contiguously are then merged, so a
// loop over same-shaped tensors is one flat loop and a bias over [N, C] a loop over rows
// around a loop over C. An index that does not fit a chain is evaluated literally.
#pragma once

#include "codegen/backend.h"

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

// The extent of the nest's outermost axis (what a split loop's blocks divide); the
// elements under one of its iterations are the same for every batch.
Extent outer_extent(Extent trip, const std::vector<Index>& operands);

// The largest element offset operand `index` reaches over `trip` elements (for `n` = the
// compiled batch): what the module builder checks operand overlap with.
int64_t max_offset(const Index& index, int64_t trip);

} // namespace dlc::codegen::llvmgen
