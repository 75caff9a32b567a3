// Gradient rules: one per differentiable op, registered by the op's name (the same key as
// the op table in ir/ops/ and the interpreter's kernels in ir/interp/). A rule receives
// the forward node and the gradient of its results, and appends the nodes that compute
// the gradient of each operand that needs one.
#pragma once

#include "ir/graph.h"

#include <functional>
#include <string>
#include <vector>

namespace dlc::passes::autodiff {

struct GradCtx {
  ir::Graph& g;
  ir::Node node;               // a copy: appending nodes may move the graph's node list
  std::vector<ir::ValueId> dy; // gradient of each result; ir::kNoValue when none reaches the loss
  std::vector<bool> wanted;    // which operands need a gradient
  int index = -1;              // the forward node's index in g (a loop's rule extends it in place)

  ir::ValueId x(int i) const { return node.operands[size_t(i)]; }
  ir::ValueId y(int i = 0) const { return node.results[size_t(i)]; }
  ir::ValueId dy0() const { return dy[0]; }
  bool wants(int i) const { return wanted[size_t(i)]; }
  const ir::Attrs& attrs() const { return node.attrs; }
  const ir::Shape& shape(ir::ValueId v) const { return g.type(v).shape; }

  // Appends a backward node named "<forward node>.grad" and returns its result.
  ir::ValueId emit(const std::string& op, std::vector<ir::ValueId> operands, ir::Attrs attrs = {});
  // Sums a gradient computed in the broadcast result shape down to operand i's shape
  // (returns it unchanged when the shapes agree).
  ir::ValueId unbroadcast(ir::ValueId grad, int i);
};

// Returns one gradient per operand: ir::kNoValue for operands not wanted, and for
// operands the op is not differentiable in (a loss's target, integer indices).
using GradFn = std::function<std::vector<ir::ValueId>(GradCtx&)>;

void register_grad(const std::string& op, GradFn fn);
const GradFn* find_grad(const std::string& op);

// The rule families, one file each (passes/autodiff/grad_*.cpp).
void register_elementwise_grads();
void register_linalg_grads();
void register_window_grads();
void register_shape_grads();
void register_reduction_grads();
void register_loss_grads();
void register_embedding_grads();
void register_loop_grads();

} // namespace dlc::passes::autodiff
