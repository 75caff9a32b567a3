// Gradient rules of the element-wise ops (ir/ops/elementwise.cpp). Activations whose
// derivative is a function of their output (sigmoid, tanh, relu, exp) read the forward
// result y rather than recomputing anything from x.
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

using ir::kNoValue;
using ir::ValueId;
using Grads = std::vector<ValueId>;

namespace {

// A unary op's rule from the expression of its one gradient.
void unary(const std::string& op, std::function<ValueId(GradCtx&)> dx) {
  register_grad(op, [dx](GradCtx& c) { return Grads{dx(c)}; });
}

// A binary broadcasting op: each gradient is formed in the result shape, then summed
// over the axes its operand was broadcast along.
void binary(const std::string& op, std::function<ValueId(GradCtx&, int)> d) {
  register_grad(op, [d](GradCtx& c) {
    Grads out(2, kNoValue);
    for (int i = 0; i < 2; i++)
      if (c.wants(i)) out[size_t(i)] = c.unbroadcast(d(c, i), i);
    return out;
  });
}

void register_activations() {
  unary("sigmoid", [](GradCtx& c) { return c.emit("sigmoid_grad", {c.y(), c.dy0()}); });
  unary("tanh", [](GradCtx& c) { return c.emit("tanh_grad", {c.y(), c.dy0()}); });
  // relu'(0) = 0: y > 0 exactly where x > 0.
  unary("relu", [](GradCtx& c) { return c.emit("relu_grad", {c.y(), c.dy0()}); });
  unary("leaky_relu", [](GradCtx& c) {
    return c.emit("leaky_relu_grad", {c.x(0), c.dy0()}, {{"alpha", c.attrs().get_float("alpha")}});
  });
  unary("softplus", [](GradCtx& c) { return c.emit("mul", {c.dy0(), c.emit("sigmoid", {c.x(0)})}); });
  register_grad("prelu", [](GradCtx& c) {
    Grads out(2, kNoValue);
    if (c.wants(0)) out[0] = c.emit("prelu_grad_input", {c.x(0), c.x(1), c.dy0()});
    if (c.wants(1)) out[1] = c.emit("prelu_grad_slope", {c.x(0), c.dy0()});
    return out;
  });
  // Ops whose derivative is computed from x by a backward op of their own (the op table's
  // grad_from_x: elu, gelu, silu, ...).
  for (const std::string& op : ir::op_names()) {
    std::string grad = ir::get_op(op).grad_from_x;
    if (!grad.empty()) unary(op, [grad](GradCtx& c) { return c.emit(grad, {c.x(0), c.dy0()}, c.attrs()); });
  }
  // Dropout is linear in x with the mask of (seed, step, stream, element): applying the
  // same dropout (same rate and stream) to dy multiplies it by the same mask and scale.
  unary("dropout", [](GradCtx& c) { return c.emit("dropout", {c.dy0()}, c.attrs()); });
  // Additive noise passes dy through; the multiplicative noises are linear in x with the
  // same draws for dy (same stream, step and keys), as dropout.
  unary("gaussian_noise", [](GradCtx& c) { return c.dy0(); });
  unary("gaussian_dropout", [](GradCtx& c) { return c.emit("gaussian_dropout", {c.dy0()}, c.attrs()); });
  unary("spatial_dropout", [](GradCtx& c) { return c.emit("spatial_dropout", {c.dy0()}, c.attrs()); });
  // dy goes to the operand of the run's phase; the other gets zeros.
  register_grad("phase_select", [](GradCtx& c) {
    Grads out(2, kNoValue);
    ValueId zero = c.emit("scale", {c.dy0()}, {{"scale", 0.0}});
    if (c.wants(0)) out[0] = c.emit("phase_select", {c.dy0(), zero});
    if (c.wants(1)) out[1] = c.emit("phase_select", {zero, c.dy0()});
    return out;
  });
}

void register_math() {
  unary("exp", [](GradCtx& c) { return c.emit("mul", {c.dy0(), c.y()}); });
  unary("log", [](GradCtx& c) { return c.emit("div", {c.dy0(), c.x(0)}); });
  unary("neg", [](GradCtx& c) { return c.emit("neg", {c.dy0()}); });
  unary("sqrt", [](GradCtx& c) {
    return c.emit("div", {c.dy0(), c.emit("scale", {c.y()}, {{"scale", 2.0}})});
  });
  unary("square", [](GradCtx& c) {
    return c.emit("mul", {c.dy0(), c.emit("scale", {c.x(0)}, {{"scale", 2.0}})});
  });
  // abs'(0) = sign(0) = 0.
  unary("abs", [](GradCtx& c) { return c.emit("mul", {c.dy0(), c.emit("sign", {c.x(0)})}); });
  // random_factor's result does not depend on its operand's values.
  unary("random_factor", [](GradCtx& c) { return c.emit("scale", {c.dy0()}, {{"scale", 0.0}}); });
  // sign is flat wherever it is differentiable; its gradient is 0 (also at the jump).
  unary("sign", [](GradCtx& c) { return c.emit("scale", {c.dy0()}, {{"scale", 0.0}}); });
  unary("scale", [](GradCtx& c) {
    return c.emit("scale", {c.dy0()}, {{"scale", c.attrs().get_float("scale")}});
  });
}

void register_arithmetic() {
  binary("add", [](GradCtx& c, int) { return c.dy0(); });
  binary("sub", [](GradCtx& c, int i) { return i == 0 ? c.dy0() : c.emit("neg", {c.dy0()}); });
  binary("mul", [](GradCtx& c, int i) { return c.emit("mul", {c.dy0(), c.x(1 - i)}); });
  // d(a/b)/db = -a/b^2 = -y/b.
  binary("div", [](GradCtx& c, int i) {
    if (i == 0) return c.emit("div", {c.dy0(), c.x(1)});
    return c.emit("neg", {c.emit("div", {c.emit("mul", {c.dy0(), c.y()}), c.x(1)})});
  });
  for (const char* op : {"maximum", "minimum"})
    binary(op, [op](GradCtx& c, int i) {
      return c.emit(std::string(op) + "_grad", {c.x(0), c.x(1), c.dy0()}, {{"operand", int64_t(i)}});
    });
  register_grad("bias_add", [](GradCtx& c) {
    Grads out(2, kNoValue);
    if (c.wants(0)) out[0] = c.dy0();
    int rank = c.shape(c.x(0)).rank();
    if (c.wants(1)) {
      std::vector<int64_t> axes;
      for (int d = 0; d + 1 < rank; d++) axes.push_back(d);
      out[1] = axes.empty() ? c.dy0() : c.emit("reduce_sum", {c.dy0()}, {{"axes", axes}});
    }
    return out;
  });
}

} // namespace

void register_elementwise_grads() {
  register_activations();
  register_math();
  register_arithmetic();
}

} // namespace dlc::passes::autodiff
