// Reference kernels of the element-wise ops (ir/ops/elementwise.cpp).
#include "ir/interp/eval_common.h"
#include "runtime/rng.h"

#include <algorithm>
#include <cmath>
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

// An activation whose derivative is computed from x (ir/ops/elementwise.cpp): the op with
// f(x) and its backward op name_grad(x, dy) = dy * df(x).
static void activation(const std::string& name, std::function<double(double, const Attrs&)> f,
                       std::function<double(double, const Attrs&)> df) {
  unary(name, f);
  register_eval(name + "_grad", [df](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                     const EvalContext&) {
    const Tensor &x = *in[0], &dy = *in[1];
    for (int64_t i = 0; i < x.numel(); i++) out[0][i] = dy[i] * df(x[i], n.attrs);
  });
}

static constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
static constexpr double kSeluScale = 1.0507009873554804934193349852946;
static constexpr double kPi = 3.14159265358979323846;

static double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// tanh's GELU: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
static double gelu_u(double x) { return std::sqrt(2 / kPi) * (x + 0.044715 * x * x * x); }

static void register_activations_from_x() {
  activation(
      "elu", [](double x, const Attrs& a) { return x > 0 ? x : a.get_float("alpha", 1.0) * std::expm1(x); },
      [](double x, const Attrs& a) { return x > 0 ? 1.0 : a.get_float("alpha", 1.0) * std::exp(x); });
  activation(
      "selu", [](double x, const Attrs&) { return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x)); },
      [](double x, const Attrs&) { return x > 0 ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(x); });
  activation(
      "gelu",
      [](double x, const Attrs& a) {
        if (a.get_int("approximate", 0)) return 0.5 * x * (1 + std::tanh(gelu_u(x)));
        return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
      },
      [](double x, const Attrs& a) {
        if (a.get_int("approximate", 0)) {
          double t = std::tanh(gelu_u(x));
          return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * std::sqrt(2 / kPi) * (1 + 3 * 0.044715 * x * x);
        }
        return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * kPi);
      });
  activation(
      "silu", [](double x, const Attrs&) { return x * sigmoid(x); },
      [](double x, const Attrs&) { return sigmoid(x) * (1 + x * (1 - sigmoid(x))); });
  activation(
      "hard_sigmoid", [](double x, const Attrs&) { return std::clamp(x / 6 + 0.5, 0.0, 1.0); },
      [](double x, const Attrs&) { return x > -3 && x <= 3 ? 1.0 / 6 : 0.0; }); // left derivative at the kinks
  activation(
      "mish", [](double x, const Attrs&) { return x * std::tanh(softplus(x)); },
      [](double x, const Attrs&) {
        double t = std::tanh(softplus(x));
        return t + x * sigmoid(x) * (1 - t * t);
      });
  activation(
      "softsign", [](double x, const Attrs&) { return x / (1 + std::fabs(x)); },
      [](double x, const Attrs&) { return 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x))); });
}

void register_elementwise_evals() {
  register_activations_from_x();
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
  // Keras's GaussianNoise, GaussianDropout, SpatialDropout2D (ir/ops/elementwise.cpp).
  register_eval("gaussian_noise", [](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                     const EvalContext& ctx) {
    const Tensor& x = *in[0];
    double sd = n.attrs.get_float("stddev");
    uint64_t stream = dlc_rt::rng_step_stream(n.attrs.get_int("stream"), ctx.step);
    out[0] = x;
    if (ctx.training && sd != 0)
      for (int64_t i = 0; i < x.numel(); i++) out[0][i] = x[i] + sd * dlc_rt::rng_normal(ctx.seed, stream, uint64_t(i));
  });
  register_eval("gaussian_dropout", [](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                       const EvalContext& ctx) {
    const Tensor& x = *in[0];
    double rate = n.attrs.get_float("rate");
    uint64_t stream = dlc_rt::rng_step_stream(n.attrs.get_int("stream"), ctx.step);
    out[0] = x;
    if (ctx.training && rate != 0)
      for (int64_t i = 0; i < x.numel(); i++)
        out[0][i] = x[i] * (1 + std::sqrt(rate / (1 - rate)) * dlc_rt::rng_normal(ctx.seed, stream, uint64_t(i)));
  });
  register_eval("spatial_dropout", [](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                      const EvalContext& ctx) {
    const Tensor& x = *in[0];
    double rate = n.attrs.get_float("rate");
    int64_t channels = n.attrs.get_int("channels"), block = n.attrs.get_int("block");
    uint64_t stream = dlc_rt::rng_step_stream(n.attrs.get_int("stream"), ctx.step);
    out[0] = x;
    if (ctx.training && rate != 0)
      for (int64_t i = 0; i < x.numel(); i++) {
        uint64_t key = uint64_t(i / block * channels + i % channels);
        bool keep = dlc_rt::rng_uniform(ctx.seed, stream, key) >= float(rate);
        out[0][i] = keep ? x[i] / (1 - rate) : 0.0;
      }
  });
  register_eval("random_factor", [](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                    const EvalContext& ctx) {
    double lo = n.attrs.get_float("lower"), hi = n.attrs.get_float("upper");
    int64_t block = n.attrs.get_int("block");
    uint64_t stream = dlc_rt::rng_step_stream(n.attrs.get_int("stream"), ctx.step);
    for (int64_t i = 0; i < in[0]->numel(); i++)
      out[0][i] = ctx.training ? lo + (hi - lo) * double(dlc_rt::rng_uniform(ctx.seed, stream, uint64_t(i / block))) : 1.0;
  });
  register_eval("phase_select", [](const Node&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                   const EvalContext& ctx) { out[0] = ctx.training ? *in[0] : *in[1]; });
  register_eval("dropout", [](const Node& n, const std::vector<const Tensor*>& in,
                              std::vector<Tensor>& out, const EvalContext& ctx) {
    const Tensor& x = *in[0];
    double rate = n.attrs.get_float("rate");
    if (!ctx.training || rate == 0) {
      out[0] = x;
      return;
    }
    // The mask of step s and stream k: element i is kept when u(seed, k*2^32 + s, i) >= rate.
    uint64_t stream = dlc_rt::rng_step_stream(n.attrs.get_int("stream"), ctx.step);
    double keep_scale = 1.0 / (1.0 - rate);
    for (int64_t i = 0; i < x.numel(); i++) {
      bool keep = dlc_rt::rng_uniform(ctx.seed, stream, uint64_t(i)) >= float(rate);
      out[0][i] = keep ? x[i] * keep_scale : 0.0;
    }
  });
}

} // namespace dlc::ir::interp
