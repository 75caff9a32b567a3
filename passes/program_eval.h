// Runs a planned Program on the reference interpreter's kernels, over real memory: the
// three regions are byte arrays, every kernel reads its inputs from and writes its
// outputs to its buffers' offsets, anchors run their reference kernels and bodies are
// evaluated expression by expression. A plan that lets two live buffers share bytes
// corrupts the results, so comparing with ir::evaluate tests the plan and the kernel
// descriptions together.
#pragma once

#include "ir/interp/interpreter.h"
#include "passes/program.h"

namespace dlc::passes {

// Runs one step. `bindings` gives inputs, params and state by name; params and state an
// update writes take their new values. Returns the graph's outputs by name.
std::vector<std::pair<std::string, ir::Tensor>> run_program(const Program& p, ir::Bindings& bindings,
                                                            const ir::EvalContext& ctx = {});

} // namespace dlc::passes
