// Gradient rules of the reductions, softmax and log_softmax (ir/ops/reduction.cpp).
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

using ir::ValueId;
using Grads = std::vector<ValueId>;

namespace {

// dy spread back over the reduced axes: reshaped to the keepdims shape (reduced axes of
// extent 1), then broadcast to x's shape.
ValueId spread(GradCtx& c) {
  const ir::Shape& xs = c.shape(c.x(0));
  ir::Shape kept = xs;
  if (c.attrs().has("axes")) {
    for (int64_t a : c.attrs().get_ints("axes")) kept[int(a < 0 ? a + xs.rank() : a)] = 1;
  } else {
    for (auto& d : kept.dims) d = 1;
  }
  ValueId g = c.dy0();
  if (c.shape(g) != kept && c.shape(g).rank() != 0) g = c.emit("reshape", {g}, {{"shape", kept.dims}});
  return c.emit("broadcast_to", {g}, {{"shape", xs.dims}});
}

} // namespace

void register_reduction_grads() {
  register_grad("reduce_sum", [](GradCtx& c) { return Grads{spread(c)}; });
  // Where axis 0 (the samples, in a batched graph) is reduced, the count is the run's:
  // reduce_mean_grad divides by it when it runs. Elsewhere the count is fixed and the
  // spread-and-scale fuses with its neighbours.
  register_grad("reduce_mean", [](GradCtx& c) {
    bool samples = !c.attrs().has("axes");
    for (int64_t a : c.attrs().has("axes") ? c.attrs().get_ints("axes") : std::vector<int64_t>{})
      samples |= a == 0 || a == -int64_t(c.shape(c.x(0)).rank());
    if (samples) return Grads{c.emit("reduce_mean_grad", {c.x(0), c.dy0()}, c.attrs())};
    double count = double(c.shape(c.x(0)).numel()) / double(c.shape(c.y()).numel());
    return Grads{c.emit("scale", {spread(c)}, {{"scale", 1.0 / count}})};
  });
  // Ties: the first maximum in index order takes the gradient.
  register_grad("reduce_max", [](GradCtx& c) {
    return Grads{c.emit("reduce_max_grad", {c.x(0), c.dy0()}, c.attrs())};
  });
  register_grad("softmax", [](GradCtx& c) {
    return Grads{c.emit("softmax_grad", {c.y(), c.dy0()}, c.attrs())};
  });
  register_grad("log_softmax", [](GradCtx& c) {
    return Grads{c.emit("log_softmax_grad", {c.y(), c.dy0()}, c.attrs())};
  });
}

} // namespace dlc::passes::autodiff
