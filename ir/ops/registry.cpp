// Collects the op families into the table (see ir/op.cpp). One call per family file.
#include "ir/ops/common.h"

namespace dlc::ir {

void register_all_op_families() {
  ops::register_elementwise_ops();
  ops::register_linalg_ops();
  ops::register_window_ops();
  ops::register_augment_ops();
  ops::register_shape_ops();
  ops::register_reduction_ops();
  ops::register_loss_ops();
  ops::register_optimizer_ops();
  ops::register_grad_ops();
  ops::register_embedding_ops();
  ops::register_loop_ops();
}

} // namespace dlc::ir
