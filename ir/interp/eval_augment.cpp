// Reference kernels of random_affine and its gradient, in double. The per-sample maps and
// the taps they read are runtime/kernels/augment.h's (the draws and the fill-mode and
// interpolation rules are one formula); the resampling and its transpose are written out
// here. Factors and the fill value are rounded to float first, as the compiled backends
// receive them.
#include "ir/interp/eval_common.h"

#include "runtime/kernels/augment.h"

namespace dlc::ir::interp {

namespace {

dlc_rt::AffineGeom geometry(const Node& node, const Shape& x, const Shape& y) {
  const Attrs& a = node.attrs;
  auto f = [&](const char* k) { return double(float(a.get_float(k))); };
  return {x[0], x[1], x[2], x[3], y[1], y[2],
          dlc_rt::affine_kind_code(a.get_string("kind").c_str()),
          f("h_lower"), f("h_upper"), f("w_lower"), f("w_upper"),
          dlc_rt::fill_mode_code(a.get_string("fill_mode").c_str()), float(a.get_float("fill_value")),
          dlc_rt::interpolation_code(a.get_string("interpolation").c_str())};
}

// Calls f(sample, input pixel or -1, weight, output pixel) for every tap of every output pixel.
template <class F> void each_tap(const Node& node, const dlc_rt::AffineGeom& g, const EvalContext& ctx, F&& f) {
  uint64_t stream = dlc_rt::rng_step_stream(node.attrs.get_int("stream"), ctx.step);
  for (int64_t s = 0; s < g.n; s++) {
    dlc_rt::Affine m = dlc_rt::sample_affine(g, ctx.seed, stream, s, ctx.training);
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        dlc_rt::AffineTaps t = dlc_rt::affine_taps(g, m, oy, ox);
        for (int k = 0; k < t.count; k++) f(s, t.pixel[k], double(t.weight[k]), oy * g.ow + ox);
      }
  }
}

} // namespace

void register_augment_evals() {
  register_eval("random_affine", [](const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                                    const EvalContext& ctx) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    dlc_rt::AffineGeom g = geometry(node, x.shape(), y.shape());
    for (int64_t i = 0; i < y.numel(); i++) y[i] = 0;
    each_tap(node, g, ctx, [&](int64_t s, int64_t pixel, double w, int64_t o) {
      for (int64_t ch = 0; ch < g.c; ch++)
        y[(s * g.oh * g.ow + o) * g.c + ch] += w * (pixel < 0 ? double(g.fill_value) : x[(s * g.h * g.w + pixel) * g.c + ch]);
    });
  });
  register_eval("random_affine_grad", [](const Node& node, const std::vector<const Tensor*>& in,
                                         std::vector<Tensor>& out, const EvalContext& ctx) {
    const Tensor& dy = *in[0];
    Tensor& dx = out[0];
    dlc_rt::AffineGeom g = geometry(node, dx.shape(), dy.shape());
    for (int64_t i = 0; i < dx.numel(); i++) dx[i] = 0;
    each_tap(node, g, ctx, [&](int64_t s, int64_t pixel, double w, int64_t o) {
      if (pixel < 0) return;
      for (int64_t ch = 0; ch < g.c; ch++)
        dx[(s * g.h * g.w + pixel) * g.c + ch] += w * dy[(s * g.oh * g.ow + o) * g.c + ch];
    });
  });
}

} // namespace dlc::ir::interp
