// fold_batch_norm: batch normalisation at inference folded into the convolution or dense
// layer before it (passes/fold_batch_norm.cpp).
#pragma once

#include "ir/graph.h"

namespace dlc::passes {

// In an inference graph, rewrites each
//   y = (anchor(x, W) [+ b] - mean) / sqrt(var + eps) [* gamma] [+ beta]
// (anchor: conv2d, or matmul without transposes; W's last axis the channels; mean, var,
// gamma, beta and b parameters; every intermediate used once) into
//   y = bias_add(anchor(x, W * s), beta + (b - mean) * s),   s = gamma / sqrt(var + eps),
// with W * s named "<W>.folded" and the new bias "<layer>.folded_bias". What depends only
// on parameters (s, the folded weights and bias) is computed once per change of the
// weights when the program prepares its weights (Program::prepare_count), not per call.
ir::Graph fold_batch_norm(const ir::Graph& g);

} // namespace dlc::passes
