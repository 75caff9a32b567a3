// Reference kernels of the element-wise ops (ir/ops/elementwise.cpp).
#include "ir/interp/eval_common.h"
#include "runtime/rng.h"

#include <functional>

namespace dlc::ir::interp {

static void unary(const std::string& name, std::function<double(double, const Attrs&)> f) {
  register_eval(name, [f](const Node& n, const std::vector<const Tensor*>& in,
                          std::vector<Tensor>& out, const EvalContext&) {
    const Tensor& x = *in[0];
    for (int64_t i = 0; i < x.numel(); i++) out[0][i] = f(x[i], n.attrs);
  });
}

static void binary(const std::string& name, std::function<double(double, double)> f) {
  register_eval(name, [f](const Node&, const std::vector<const Tensor*>& in,
                          std::vector<Tensor>& out, const EvalContext&) {
    Tensor& y = out[0];
    auto ma = broadcast_map(in[0]->shape(), y.shape());
    auto mb = broadcast_map(in[1]->shape(), y.shape());
    for (int64_t i = 0; i < y.numel(); i++)
      y[i] = f((*in[0])[ma[size_t(i)]], (*in[1])[mb[size_t(i)]]);
  });
}

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

void register_elementwise_evals() {
  unary("sigmoid", [](double x, const Attrs&) { return 1.0 / (1.0 + std::exp(-x)); });
  unary("tanh", [](double x, const Attrs&) { return std::tanh(x); });
  unary("relu", [](double x, const Attrs&) { return x > 0 ? x : 0.0; });
  unary("softplus", [](double x, const Attrs&) { return softplus(x); });
  unary("exp", [](double x, const Attrs&) { return std::exp(x); });
  unary("log", [](double x, const Attrs&) { return std::log(x); });
  unary("neg", [](double x, const Attrs&) { return -x; });
  unary("sqrt", [](double x, const Attrs&) { return std::sqrt(x); });
  unary("square", [](double x, const Attrs&) { return x * x; });
  unary("abs", [](double x, const Attrs&) { return std::fabs(x); });
  unary("sign", [](double x, const Attrs&) { return double((x > 0) - (x < 0)); });
  unary("leaky_relu",
        [](double x, const Attrs& a) { return x > 0 ? x : a.get_float("alpha") * x; });
  unary("scale", [](double x, const Attrs& a) {
    return x * a.get_float("scale") + a.get_float("offset", 0.0);
  });

  binary("add", [](double a, double b) { return a + b; });
  binary("sub", [](double a, double b) { return a - b; });
  binary("mul", [](double a, double b) { return a * b; });
  binary("div", [](double a, double b) { return a / b; });
  binary("maximum", [](double a, double b) { return std::max(a, b); });
  binary("minimum", [](double a, double b) { return std::min(a, b); });

  register_eval("bias_add", [](const Node&, const std::vector<const Tensor*>& in,
                               std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &b = *in[1];
    int64_t c = b.numel();
    for (int64_t i = 0; i < x.numel(); i++) out[0][i] = x[i] + b[i % c];
  });
  register_eval("prelu", [](const Node&, const std::vector<const Tensor*>& in,
                            std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &s = *in[1];
    int64_t c = s.numel();
    for (int64_t i = 0; i < x.numel(); i++)
      out[0][i] = x[i] > 0 ? x[i] : s[i % c] * x[i];
  });
  register_eval("dropout", [](const Node& n, const std::vector<const Tensor*>& in,
                              std::vector<Tensor>& out, const EvalContext& ctx) {
    const Tensor& x = *in[0];
    double rate = n.attrs.get_float("rate");
    if (!ctx.training || rate == 0) {
      out[0] = x;
      return;
    }
    // The mask of step s and stream k: element i is kept when u(seed, k*2^32 + s, i) >= rate.
    uint64_t stream = (uint64_t(n.attrs.get_int("stream")) << 32) + ctx.step;
    double keep_scale = 1.0 / (1.0 - rate);
    for (int64_t i = 0; i < x.numel(); i++) {
      bool keep = dlc_rt::rng_uniform(ctx.seed, stream, uint64_t(i)) >= float(rate);
      out[0][i] = keep ? x[i] * keep_scale : 0.0;
    }
  });
}

} // namespace dlc::ir::interp
