// Reverse-mode differentiation as a graph transformation: appends to a graph the nodes
// that compute the gradient of a scalar with respect to chosen values. Gradient rules
// are registered per op (passes/autodiff/grad_*.cpp), found by the op's name.
#pragma once

#include "ir/graph.h"

#include <functional>
#include <vector>

namespace dlc::passes {

// Appends the backward graph of scalar `loss` to `g`. Returns, for each value in `wrt`,
// the value holding d loss / d wrt (same type), or ir::kNoValue when no path leads from
// it to the loss. Gradients of a value used several times are summed; only nodes on a
// path from some `wrt` to `loss` are differentiated; forward values are reused.
std::vector<ir::ValueId> differentiate(ir::Graph& g, ir::ValueId loss,
                                       const std::vector<ir::ValueId>& wrt);

} // namespace dlc::passes
