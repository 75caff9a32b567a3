// Reference kernels of matmul and transpose.
#include "ir/interp/eval_common.h"

namespace dlc::ir::interp {

void register_linalg_evals() {
  register_eval("matmul", [](const Node& n, const std::vector<const Tensor*>& in,
                             std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &a = *in[0], &b = *in[1];
    bool ta = n.attrs.get_bool("transpose_a", false), tb = n.attrs.get_bool("transpose_b", false);
    int64_t m = out[0].shape()[0], nn = out[0].shape()[1];
    int64_t k = ta ? a.shape()[0] : a.shape()[1];
    int64_t lda = a.shape()[1], ldb = b.shape()[1];
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < nn; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++) {
          double av = ta ? a[p * lda + i] : a[i * lda + p];
          double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
          acc += av * bv;
        }
        out[0][i * nn + j] = acc;
      }
  });

  register_eval("transpose", [](const Node& n, const std::vector<const Tensor*>& in,
                                std::vector<Tensor>& out, const EvalContext&) {
    const Tensor& x = *in[0];
    auto& perm = n.attrs.get_ints("perm");
    auto xs = strides_of(x.shape());
    const Shape& ys = out[0].shape();
    int r = ys.rank();
    std::vector<int64_t> idx(size_t(r), 0);
    for (int64_t i = 0; i < out[0].numel(); i++) {
      int64_t src = 0;
      for (int d = 0; d < r; d++) src += idx[size_t(d)] * xs[size_t(perm[size_t(d)])];
      out[0][i] = x[src];
      for (int d = r - 1; d >= 0; d--) {
        if (++idx[size_t(d)] < ys[d]) break;
        idx[size_t(d)] = 0;
      }
    }
  });
}

} // namespace dlc::ir::interp
