// The nest an element-wise loop (passes/steps.h Loop) runs as, in both backends: counted
// loops whose innermost one walks each operand at a constant stride (1, or 0 for a
// broadcast operand), instead of the lowering's flat `(i / div % mod) * mul` index
// arithmetic per element, which compilers do not vectorise.
//
// The lowering's index terms of one loop come from one shape (the kernel's iteration
// space, or a copy's output), so their divisors form a chain 1 | b1 | b2 | ...: each link
// is an axis of the nest, and an operand's stride along it is the sum of what its terms
// contribute. Adjacent axes that every operand walks contiguously are then merged, so a
// loop over same-shaped tensors is one flat loop and a bias over [N, C] a loop over rows
// around a loop over C. An index that does not fit a chain is evaluated literally.
#pragma once

#include "passes/steps.h"

#include <optional>
#include <vector>

namespace dlc::passes {

// One axis of the nest: `extent` iterations (per * n when batched); `strides[k]` is the
// step of stride-vector k along it (0: the flat index i, then one per operand).
struct LoopAxis {
  Extent extent;
  std::vector<int64_t> strides;
};

// The nest's axes, outermost first, or nullopt: one flat loop with the literal index
// arithmetic.
std::optional<std::vector<LoopAxis>> loop_axes(Extent trip, const std::vector<Index>& operands);

// The extent of the nest's outermost axis (what a loop split across threads divides); the
// elements under one of its iterations are the same for every batch.
Extent outer_extent(Extent trip, const std::vector<Index>& operands);

// The outermost axis's iterations per block when a loop with `grain` > 0 is split across
// threads (blocks of at least `grain` elements), at the compiled `batch`: what both
// backends pass to their parallel loop.
int64_t outer_grain(const Loop& loop, Extent outer, int64_t batch);

// The largest element offset `index` reaches over `trip` elements.
int64_t max_offset(const Index& index, int64_t trip);

} // namespace dlc::passes
