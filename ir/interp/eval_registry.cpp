#include "ir/interp/eval_common.h"

namespace dlc::ir {

void register_all_evals() {
  interp::register_elementwise_evals();
  interp::register_linalg_evals();
  interp::register_window_evals();
  interp::register_depthwise_evals();
  interp::register_augment_evals();
  interp::register_shape_evals();
  interp::register_reduction_evals();
  interp::register_loss_evals();
  interp::register_optimizer_evals();
  interp::register_grad_evals();
  interp::register_embedding_evals();
  interp::register_loop_evals();
}

} // namespace dlc::ir
