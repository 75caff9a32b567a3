// Losses. Each returns a scalar: the mean over the batch (axis 0) of the per-sample loss.
//
//   mse                              mean over all elements of (p - y)^2
//   softmax_cross_entropy(z, y)      -sum_c y_c log softmax(z)_c, y one-hot or probabilities
//   sparse_softmax_cross_entropy     the same with integer class labels y[n]
//   binary_cross_entropy(p, y)       -(y log p + (1-y) log(1-p)), p clamped to [1e-7, 1-1e-7]
//   sigmoid_binary_cross_entropy     the same from logits: max(z,0) - z*y + log(1+exp(-|z|))
//
// The cross-entropies taking logits are computed with log-sum-exp and never overflow.
#include "ir/ops/common.h"

namespace dlc::ir::ops {

static InferFn same_shape_loss() {
  return [](const InferContext& c) {
    c.expect_float(0);
    c.expect_float(1);
    c.expect_min_rank(0, 1);
    if (c.in[0].shape != c.in[1].shape)
      c.fail("prediction {} and target {} differ in shape", c.in[0].str(), c.in[1].str());
    return std::vector<TensorType>{scalar_f32()};
  };
}

void register_loss_ops() {
  register_with({"mse", "mean squared error", 2, 2, {}, same_shape_loss(), OpClass::loss}, batch_ends());
  register_with({"softmax_cross_entropy", "cross-entropy of softmax(logits) against targets", 2, 2,
               {}, [](const InferContext& c) {
                 c.expect_rank(0, 2);
                 return same_shape_loss()(c);
               },
               OpClass::loss}, batch_ends());
  register_with({"binary_cross_entropy", "binary cross-entropy of probabilities", 2, 2, {},
               same_shape_loss(), OpClass::loss}, batch_ends());
  register_with({"sigmoid_binary_cross_entropy", "binary cross-entropy of sigmoid(logits)", 2, 2,
               {}, same_shape_loss(), OpClass::loss}, batch_ends());
  register_with({"sparse_softmax_cross_entropy", "cross-entropy against integer labels", 2, 2, {},
               [](const InferContext& c) {
                 c.expect_float(0);
                 c.expect_rank(0, 2);
                 if (!is_integer(c.in[1].dtype) || c.in[1].shape != Shape{c.in[0].shape[0]})
                   c.fail("labels must be integers of shape [{}], got {}", c.in[0].shape[0],
                          c.in[1].str());
                 return std::vector<TensorType>{scalar_f32()};
               },
               OpClass::loss}, batch_ends());
  registered_op("mse").example = example({f32_in({3, 4}), target_in({3, 4}, -1, 1)});
  // Targets of softmax cross-entropy are distributions (rows that sum to 1).
  registered_op("softmax_cross_entropy").example = example({f32_in({3, 5}), target_in({3, 5}, 0.2, 0.2)});
  registered_op("sparse_softmax_cross_entropy").example = example({f32_in({3, 5}), ids_in({DType::i32, {3}}, 5)});
  registered_op("binary_cross_entropy").example = example({f32_in({3, 4}, 0.05, 0.95), target_in({3, 4}, 0, 1)});
  registered_op("sigmoid_binary_cross_entropy").example = example({f32_in({3, 4}), target_in({3, 4}, 0, 1)});
}

} // namespace dlc::ir::ops
