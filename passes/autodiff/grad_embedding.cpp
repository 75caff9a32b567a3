// Gradient rules of the embedding ops (ir/ops/embedding_ops.cpp). The token ids are
// indices: no gradient flows to them. one_hot (ir/ops/shape_ops.cpp) has no rule at all.
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

void register_embedding_grads() {
  // d table = the rows of dy added at their ids (embedding_grad), for (ids, table).
  register_grad("embedding_lookup", [](GradCtx& c) {
    std::vector<ir::ValueId> out(2, ir::kNoValue);
    if (c.wants(1)) out[1] = c.emit("embedding_grad", {c.x(0), c.dy0()}, {{"vocabulary", c.shape(c.x(1))[0]}});
    return out;
  });
}

} // namespace dlc::passes::autodiff
