// Reference kernels of the losses (definitions in ir/ops/loss.cpp): means over the batch.
#include "ir/interp/eval_common.h"

#include <limits>

namespace dlc::ir::interp {

namespace {

// log(sum_c exp(z_c)) of one row, computed stably.
double log_sum_exp(const double* z, int64_t c) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < c; k++) m = std::max(m, double(z[k]));
  double s = 0;
  for (int64_t k = 0; k < c; k++) s += std::exp(double(z[k]) - m);
  return m + std::log(s);
}

using LossFn = std::function<double(const Node&, const Tensor& p, const Tensor& y)>;

void loss(const std::string& name, LossFn f) {
  register_eval(name, [f](const Node& n, const std::vector<const Tensor*>& in,
                          std::vector<Tensor>& out, const EvalContext&) {
    out[0][0] = f(n, *in[0], *in[1]);
  });
}

} // namespace

void register_loss_evals() {
  loss("mse", [](const Node&, const Tensor& p, const Tensor& y) {
    double s = 0;
    for (int64_t i = 0; i < p.numel(); i++) s += (double(p[i]) - y[i]) * (double(p[i]) - y[i]);
    return s / double(p.numel());
  });
  loss("softmax_cross_entropy", [](const Node&, const Tensor& z, const Tensor& y) {
    int64_t n = z.shape()[0], c = z.shape()[1];
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
      double lse = log_sum_exp(&z.data[size_t(i * c)], c);
      for (int64_t k = 0; k < c; k++) s -= double(y[i * c + k]) * (double(z[i * c + k]) - lse);
    }
    return s / double(n);
  });
  loss("sparse_softmax_cross_entropy", [](const Node& node, const Tensor& z, const Tensor& y) {
    int64_t n = z.shape()[0], c = z.shape()[1];
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t label = checked_index(node, y[i], c, i);
      s += log_sum_exp(&z.data[size_t(i * c)], c) - double(z[i * c + label]);
    }
    return s / double(n);
  });
  loss("binary_cross_entropy", [](const Node&, const Tensor& p, const Tensor& y) {
    const double eps = 1e-7;
    double s = 0;
    for (int64_t i = 0; i < p.numel(); i++) {
      double q = std::min(std::max(double(p[i]), eps), 1 - eps);
      s -= double(y[i]) * std::log(q) + (1 - double(y[i])) * std::log(1 - q);
    }
    return s / double(p.numel());
  });
  loss("sigmoid_binary_cross_entropy", [](const Node&, const Tensor& z, const Tensor& y) {
    double s = 0;
    for (int64_t i = 0; i < z.numel(); i++) {
      double v = z[i];
      s += std::max(v, 0.0) - v * double(y[i]) + std::log1p(std::exp(-std::fabs(v)));
    }
    return s / double(z.numel());
  });
}

} // namespace dlc::ir::interp
