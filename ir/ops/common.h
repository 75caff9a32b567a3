// Shared pieces of the op-family files: small type-rule helpers.
#pragma once

#include "ir/op.h"

namespace dlc::ir::ops {

// The result has the type of operand i.
inline InferFn same_as(int i) {
  return [i](const InferContext& c) { return std::vector<TensorType>{c.in[size_t(i)]}; };
}

// A unary float op: result type = operand type.
inline InferFn unary_float() {
  return [](const InferContext& c) {
    c.expect_float(0);
    return std::vector<TensorType>{c.in[0]};
  };
}

// Normalises a possibly negative axis against a rank; fails through the context.
inline int normalize_axis(const InferContext& c, int64_t axis, int rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) c.fail("axis {} is out of range for rank {}", axis, rank);
  return int(a);
}

inline TensorType f32(Shape s) { return TensorType{DType::f32, std::move(s)}; }

// Example operands (OpDef::example): f32 values in [lo, hi), or whole numbers in [0, n).
inline ExampleOperand f32_in(Shape s, double lo = -1, double hi = 1) { return {f32(std::move(s)), lo, hi, false}; }
inline ExampleOperand ids_in(TensorType t, int64_t n) { return {std::move(t), 0, double(n), true, true}; }
inline ExampleOperand target_in(Shape s, double lo, double hi) { return {f32(std::move(s)), lo, hi, false, true}; }
inline OpExample example(std::vector<ExampleOperand> operands, Attrs attrs = {}) {
  return OpExample{std::move(operands), std::move(attrs)};
}
inline TensorType scalar_f32() { return TensorType{DType::f32, Shape{}}; }

// Registers a forward op with its batch rule.
inline OpDef& register_with(OpDef def, BatchRule batch) {
  OpDef& d = register_op(std::move(def));
  d.batch = std::move(batch);
  return d;
}

// Registers a fusible element-wise op computed by its scalar formula `form`
// (runtime/kernels/scalar.h), with the element-wise batch rule (elementwise.cpp).
OpDef& body(OpDef def, ScalarForm form = {});

void register_elementwise_ops();
void register_linalg_ops();
void register_window_ops();
void register_shape_ops();
void register_reduction_ops();
void register_loss_ops();
void register_optimizer_ops(); // optimizer_ops.cpp
void register_grad_ops(); // backward ops of passes/autodiff (grad_ops.cpp)
void register_embedding_ops(); // embedding_lookup, embedding_grad (embedding_ops.cpp)
void register_loop_ops();      // scan (loop_ops.cpp)
void register_augment_ops();   // random_affine, random_affine_grad (augment.cpp)

} // namespace dlc::ir::ops
