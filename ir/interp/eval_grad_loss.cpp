// Reference kernels of the loss gradients (ir/ops/grad_ops.cpp): d loss / d prediction
// times the scalar upstream gradient dy. Each loss is a mean (ir/ops/loss.cpp), so each
// gradient carries the same 1/count.
#include "ir/interp/eval_common.h"

#include <limits>

namespace dlc::ir::interp {

namespace {

using Ins = std::vector<const Tensor*>;

// softmax of row `r` of z [n, c] into p.
void softmax_row(const Tensor& z, int64_t r, int64_t c, std::vector<double>& p) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < c; k++) m = std::max(m, z[r * c + k]);
  double s = 0;
  for (int64_t k = 0; k < c; k++) s += p[size_t(k)] = std::exp(z[r * c + k] - m);
  for (int64_t k = 0; k < c; k++) p[size_t(k)] /= s;
}

// d/dz of -sum_c y_c log softmax(z)_c = softmax(z) * sum_c y_c - y: softmax(z) - y for
// one-hot (or any normalised) targets.
void softmax_ce_grad(const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &z = *in[0], &y = *in[1];
  int64_t n = z.shape()[0], c = z.shape()[1];
  double scale = (*in[2])[0] / double(n);
  auto p = std::vector<double>(size_t(c));
  for (int64_t r = 0; r < n; r++) {
    softmax_row(z, r, c, p);
    double ysum = 0;
    for (int64_t k = 0; k < c; k++) ysum += y[r * c + k];
    for (int64_t k = 0; k < c; k++) out[0][r * c + k] = (p[size_t(k)] * ysum - y[r * c + k]) * scale;
  }
}

void sparse_softmax_ce_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &z = *in[0], &labels = *in[1];
  int64_t n = z.shape()[0], c = z.shape()[1];
  double scale = (*in[2])[0] / double(n);
  auto p = std::vector<double>(size_t(c));
  for (int64_t r = 0; r < n; r++) {
    int64_t label = checked_index(node, labels[r], c, r);
    softmax_row(z, r, c, p);
    for (int64_t k = 0; k < c; k++) out[0][r * c + k] = (p[size_t(k)] - (k == label ? 1.0 : 0.0)) * scale;
  }
}

// p is clamped to [eps, 1 - eps] by the forward loss; outside that range the loss does not
// depend on p and the gradient is 0.
void bce_grad(const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &p = *in[0], &y = *in[1];
  const double eps = 1e-7;
  double scale = (*in[2])[0] / double(p.numel());
  for (int64_t i = 0; i < p.numel(); i++) {
    double q = p[i];
    out[0][i] = q < eps || q > 1 - eps ? 0.0 : (q - y[i]) / (q * (1 - q)) * scale;
  }
}

void sigmoid_bce_grad(const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &z = *in[0], &y = *in[1];
  double scale = (*in[2])[0] / double(z.numel());
  for (int64_t i = 0; i < z.numel(); i++) out[0][i] = (1 / (1 + std::exp(-z[i])) - y[i]) * scale;
}

void mse_grad(const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &p = *in[0], &y = *in[1];
  double scale = 2 * (*in[2])[0] / double(p.numel());
  for (int64_t i = 0; i < p.numel(); i++) out[0][i] = (p[i] - y[i]) * scale;
}

} // namespace

void register_loss_grad_evals() {
  register_eval("mse_grad", mse_grad);
  register_eval("softmax_cross_entropy_grad", softmax_ce_grad);
  register_eval("sparse_softmax_cross_entropy_grad", sparse_softmax_ce_grad);
  register_eval("binary_cross_entropy_grad", bce_grad);
  register_eval("sigmoid_binary_cross_entropy_grad", sigmoid_bce_grad);
}

} // namespace dlc::ir::interp
