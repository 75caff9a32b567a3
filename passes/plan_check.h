// The soundness checker of a planned Program. It trusts nothing the planner computed
// about time: liveness is recomputed from the kernels and the schedule. It proves
//   - every value a kernel reads or writes has a buffer, inside its region, at an offset
//     aligned to kAlignment;
//   - the schedule respects every dependency, and nothing is read before it is written;
//   - no two arena buffers overlap in memory while both are live, except an in-place pair
//     declared by the kernel at the step where one dies and the other is born;
//   - constants are never written; state is written only by an update's writer, after
//     (or, element by element, while) every kernel reading its old value has run.
#pragma once

#include "passes/program.h"

#include <string>
#include <vector>

namespace dlc::passes {

// Every problem found, one line each; empty when the plan is sound.
std::vector<std::string> check_plan(const Program& p);

// Throws dlc::Error listing the first problems.
void verify_plan(const Program& p);

} // namespace dlc::passes
