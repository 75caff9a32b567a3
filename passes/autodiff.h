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

// The vector-Jacobian product: appends the nodes that compute, for each value in `wrt`,
// the gradient of sum_i <outputs[i], cotangents[i]> (each cotangent a value of its
// output's type), or ir::kNoValue where no path leads from it to an output. A loop's
// gradient rule uses it on the loop's body.
std::vector<ir::ValueId> vjp(ir::Graph& g, const std::vector<ir::ValueId>& outputs,
                             const std::vector<ir::ValueId>& cotangents, const std::vector<ir::ValueId>& wrt);

} // namespace dlc::passes
