// Gradient rules of the losses (ir/ops/loss.cpp): with respect to the prediction (or
// logits) only. Targets are data, not differentiated: asking for their gradient is an error.
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

void register_loss_grads() {
  for (const char* loss : {"mse", "softmax_cross_entropy", "sparse_softmax_cross_entropy",
                           "binary_cross_entropy", "sigmoid_binary_cross_entropy"})
    register_grad(loss, [loss](GradCtx& c) {
      std::vector<ir::ValueId> out(2, ir::kNoValue);
      if (c.wants(0)) out[0] = c.emit(std::string(loss) + "_grad", {c.x(0), c.x(1), c.dy0()});
      return out;
    });
}

} // namespace dlc::passes::autodiff
