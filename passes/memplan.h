// Memory planning over the schedule (docs/compiler-passes.md) of every buffer the lower
// pass made (passes/lower.h):
//   - regions: constants (graph constants, params and state no update writes), state
//     (params and state that updates write), arena (inputs, outputs, intermediate values,
//     the kernels' temporaries and workspaces);
//   - liveness: an arena buffer lives from the step that writes it (inputs: step 0) to
//     the last step that reads it (outputs: the last step); a temporary or workspace
//     during its kernel's step only;
//   - in-place: an element-wise output takes over an input's buffer when the input dies
//     in that kernel (the pair becomes one allocation);
//   - packing: allocations are placed at 64-byte aligned offsets, first-fit or best-fit,
//     in several orders (size, start, lifetime, area); the smallest arena wins.
// The lower bound is the largest total of allocation sizes live at one step.
#pragma once

#include "passes/program.h"

namespace dlc::passes {

void plan_memory(Program& p);

int64_t align_up(int64_t bytes);

} // namespace dlc::passes
