// Reference kernels of the embedding ops (ir/ops/embedding_ops.cpp): a row gather and its
// scatter-add gradient, accumulated in double in increasing position order.
#include "ir/interp/eval_common.h"

namespace dlc::ir::interp {

void register_embedding_evals() {
  register_eval("embedding_lookup", [](const Node& n, const std::vector<const Tensor*>& in,
                                       std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &ids = *in[0], &table = *in[1];
    int64_t vocab = table.shape()[0], dim = table.shape()[1];
    for (int64_t i = 0; i < ids.numel(); i++) {
      int64_t row = checked_index(n, ids[i], vocab, i);
      for (int64_t e = 0; e < dim; e++) out[0][i * dim + e] = table[row * dim + e];
    }
  });

  register_eval("embedding_grad", [](const Node& n, const std::vector<const Tensor*>& in,
                                     std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &ids = *in[0], &dy = *in[1];
    int64_t vocab = n.attrs.get_int("vocabulary"), dim = out[0].shape()[1];
    for (int64_t i = 0; i < ids.numel(); i++) {
      int64_t row = checked_index(n, ids[i], vocab, i);
      for (int64_t e = 0; e < dim; e++) out[0][row * dim + e] += dy[i * dim + e];
    }
  });
}

} // namespace dlc::ir::interp
