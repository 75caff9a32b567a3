// The static schedule: one deterministic order of the kernels that respects their
// dependencies and keeps the arena's live bytes low. Heuristic (docs/compiler-passes.md):
// several candidate orders are simulated and the one with the lowest peak of live bytes
// wins (ties: the earlier candidate):
//   1. program order: among ready kernels, the one fused first;
//   2. greedy memory: among ready kernels, the one whose run grows the live bytes least
//      (bytes it allocates minus bytes it frees), ties to program order;
//   3. depth first: a ready kernel that reads what the last kernel wrote, else as (2).
#pragma once

#include "passes/program.h"

namespace dlc::passes {

// Reorders p.kernels into execution order.
void schedule(Program& p);

// Arena bytes (64-byte aligned sizes) live during each step when kernels run in `order`
// (positions in p.kernels), without in-place reuse: what the schedule minimises.
std::vector<int64_t> live_bytes(const Program& p, const std::vector<int>& order);

// Throws dlc::Error when p.kernels is not in an order its dependencies allow.
void verify_schedule(const Program& p);

} // namespace dlc::passes
