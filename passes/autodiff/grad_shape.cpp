// Gradient rules of the data-movement ops (ir/ops/shape_ops.cpp, and broadcast_to /
// reduce_to_shape / slice / slice_grad from ir/ops/grad_ops.cpp). one_hot has none: its operand is integer
// indices. maxout's rule lives here with its definition.
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

using ir::kNoValue;
using ir::ValueId;
using Grads = std::vector<ValueId>;

namespace {

// flatten and reshape keep the elements in order: the gradient is dy in x's shape.
Grads reshape_back(GradCtx& c) {
  return {c.emit("reshape", {c.dy0()}, {{"shape", c.shape(c.x(0)).dims}})};
}

// Each operand's gradient is its slice of dy along the concat axis.
Grads concat_grad(GradCtx& c) {
  int rank = c.shape(c.y()).rank();
  int64_t axis = c.attrs().get_int("axis");
  if (axis < 0) axis += rank;
  Grads out(c.node.operands.size(), kNoValue);
  int64_t begin = 0;
  for (size_t i = 0; i < out.size(); i++) {
    int64_t size = c.shape(c.x(int(i)))[int(axis)];
    if (c.wants(int(i)))
      out[i] = c.emit("slice", {c.dy0()}, {{"axis", axis}, {"begin", begin}, {"size", size}});
    begin += size;
  }
  return out;
}

// slice: dy back in place, zeros elsewhere. Where the slices of one value tile an axis
// (the gates of a recurrent step, its time steps), passes/autodiff.cpp joins their
// gradients with one concat instead of summing zero-padded copies.
Grads slice_grad(GradCtx& c) {
  int64_t axis = c.attrs().get_int("axis");
  if (axis < 0) axis += c.shape(c.x(0)).rank();
  return {c.emit("slice_grad", {c.dy0()},
                 {{"axis", axis}, {"begin", c.attrs().get_int("begin")}, {"extent", c.shape(c.x(0))[int(axis)]}})};
}

} // namespace

void register_shape_grads() {
  register_grad("flatten", reshape_back);
  register_grad("reshape", reshape_back);
  register_grad("concat", concat_grad);
  // Reversing is its own inverse and its own transpose.
  register_grad("reverse", [](GradCtx& c) { return Grads{c.emit("reverse", {c.dy0()}, c.attrs())}; });
  register_grad("slice", slice_grad);
  register_grad("slice_grad", [](GradCtx& c) {
    int64_t axis = c.attrs().get_int("axis");
    return Grads{c.emit("slice", {c.dy0()},
                        {{"axis", axis}, {"begin", c.attrs().get_int("begin")}, {"size", c.shape(c.x(0))[int(axis)]}})};
  });
  // Ties within a group: the first maximum takes the gradient.
  register_grad("maxout", [](GradCtx& c) {
    return Grads{c.emit("maxout_grad", {c.x(0), c.dy0()}, c.attrs())};
  });
  register_grad("broadcast_to", [](GradCtx& c) {
    return Grads{c.emit("reduce_to_shape", {c.dy0()}, {{"shape", c.shape(c.x(0)).dims}})};
  });
  register_grad("reduce_to_shape", [](GradCtx& c) {
    return Grads{c.emit("broadcast_to", {c.dy0()}, {{"shape", c.shape(c.x(0)).dims}})};
  });
}

} // namespace dlc::passes::autodiff
