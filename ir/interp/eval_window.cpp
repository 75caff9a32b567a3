// Reference kernels of conv2d and pooling (NHWC activations, HWIO filters).
#include "ir/interp/eval_common.h"

#include <limits>

namespace dlc::ir::interp {

namespace {
struct Geometry {
  int64_t n, h, w, c, oh, ow, oc, kh, kw, sh, sw, pt, pl;
};
Geometry geometry(const Node& node, const Tensor& x, const Tensor& y, int64_t kh, int64_t kw) {
  auto& st = node.attrs.get_ints("strides");
  auto& pd = node.attrs.get_ints("pads");
  const Shape &xs = x.shape(), &ys = y.shape();
  return {xs[0], xs[1], xs[2], xs[3], ys[1], ys[2], ys[3], kh, kw, st[0], st[1], pd[0], pd[2]};
}
} // namespace

void register_window_evals() {
  register_eval("conv2d", [](const Node& node, const std::vector<const Tensor*>& in,
                             std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &k = *in[1];
    Tensor& y = out[0];
    Geometry g = geometry(node, x, y, k.shape()[0], k.shape()[1]);
    for (int64_t n = 0; n < g.n; n++)
      for (int64_t oy = 0; oy < g.oh; oy++)
        for (int64_t ox = 0; ox < g.ow; ox++)
          for (int64_t f = 0; f < g.oc; f++) {
            double acc = 0;
            for (int64_t i = 0; i < g.kh; i++) {
              int64_t iy = oy * g.sh + i - g.pt;
              if (iy < 0 || iy >= g.h) continue;
              for (int64_t j = 0; j < g.kw; j++) {
                int64_t ix = ox * g.sw + j - g.pl;
                if (ix < 0 || ix >= g.w) continue;
                for (int64_t c = 0; c < g.c; c++)
                  acc += double(x[((n * g.h + iy) * g.w + ix) * g.c + c]) *
                         double(k[((i * g.kw + j) * g.c + c) * g.oc + f]);
              }
            }
            y[((n * g.oh + oy) * g.ow + ox) * g.oc + f] = acc;
          }
  });

  auto pool = [](bool is_max) {
    return [is_max](const Node& node, const std::vector<const Tensor*>& in,
                    std::vector<Tensor>& out, const EvalContext&) {
      const Tensor& x = *in[0];
      Tensor& y = out[0];
      auto& win = node.attrs.get_ints("window");
      Geometry g = geometry(node, x, y, win[0], win[1]);
      for (int64_t n = 0; n < g.n; n++)
        for (int64_t oy = 0; oy < g.oh; oy++)
          for (int64_t ox = 0; ox < g.ow; ox++)
            for (int64_t c = 0; c < g.c; c++) {
              double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
              int64_t count = 0;
              for (int64_t i = 0; i < g.kh; i++) {
                int64_t iy = oy * g.sh + i - g.pt;
                if (iy < 0 || iy >= g.h) continue;
                for (int64_t j = 0; j < g.kw; j++) {
                  int64_t ix = ox * g.sw + j - g.pl;
                  if (ix < 0 || ix >= g.w) continue;
                  double v = x[((n * g.h + iy) * g.w + ix) * g.c + c];
                  acc = is_max ? std::max(acc, v) : acc + v;
                  count++;
                }
              }
              y[((n * g.oh + oy) * g.ow + ox) * g.c + c] =
                  is_max ? acc : acc / double(count);
            }
    };
  };
  register_eval("max_pool2d", pool(true));
  register_eval("avg_pool2d", pool(false));
}

} // namespace dlc::ir::interp
