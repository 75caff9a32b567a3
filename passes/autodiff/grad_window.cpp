// Gradient rules of convolution and pooling (ir/ops/window.cpp): dedicated backward ops,
// since writing them as compositions would need im2col-sized temporaries.
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

using ir::kNoValue;
using ir::ValueId;
using Grads = std::vector<ValueId>;

namespace {

ir::Attrs with(ir::Attrs a, const std::string& key, const ir::Shape& s) {
  a.set(key, s.dims);
  return a;
}

// conv2d and depthwise_conv2d (`conv`): their backward ops <conv>_backprop_input(dy, w)
// and <conv>_backprop_filter(x, dy).
GradFn conv_grad(const std::string& conv) {
  return [conv](GradCtx& c) {
    ir::Attrs geometry = c.attrs(); // strides, pads
    Grads out(2, kNoValue);
    if (c.wants(0))
      out[0] = c.emit(conv + "_backprop_input", {c.dy0(), c.x(1)}, with(geometry, "input_shape", c.shape(c.x(0))));
    if (c.wants(1))
      out[1] = c.emit(conv + "_backprop_filter", {c.x(0), c.dy0()}, with(geometry, "filter_shape", c.shape(c.x(1))));
    return out;
  };
}

// y = conv2d_backprop_input(x, w): linear in each operand, so dx = conv2d(dy, w) (the
// conv whose input gradient it is) and dw = conv2d_backprop_filter(dy, x).
Grads conv2d_transpose_grad(GradCtx& c) {
  ir::Attrs geometry{{"strides", c.attrs().get_ints("strides")}, {"pads", c.attrs().get_ints("pads")}};
  Grads out(2, kNoValue);
  if (c.wants(0)) out[0] = c.emit("conv2d", {c.dy0(), c.x(1)}, geometry);
  if (c.wants(1))
    out[1] = c.emit("conv2d_backprop_filter", {c.dy0(), c.x(0)}, with(geometry, "filter_shape", c.shape(c.x(1))));
  return out;
}

} // namespace

void register_window_grads() {
  register_grad("conv2d_transpose", conv2d_transpose_grad);
  register_grad("conv2d", conv_grad("conv2d"));
  register_grad("depthwise_conv2d", conv_grad("depthwise_conv2d"));
  // Ties within a window: the first maximum in window order takes the gradient.
  register_grad("max_pool2d", [](GradCtx& c) {
    return Grads{c.emit("max_pool2d_grad", {c.x(0), c.dy0()}, c.attrs())};
  });
  register_grad("avg_pool2d", [](GradCtx& c) {
    return Grads{c.emit("avg_pool2d_grad", {c.dy0()}, with(c.attrs(), "input_shape", c.shape(c.x(0))))};
  });
  // The same taps and weights as the forward node (same stream, same step), transposed.
  register_grad("random_affine", [](GradCtx& c) {
    return Grads{c.emit("random_affine_grad", {c.dy0()}, with(c.attrs(), "input_shape", c.shape(c.x(0))))};
  });
}

} // namespace dlc::passes::autodiff
