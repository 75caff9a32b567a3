// Reference kernels of the convolution and pooling gradients (NHWC activations, HWIO
// filters): each walks the forward op's loops and scatters instead of gathering.
#include "ir/interp/eval_common.h"
#include "ir/interp/window.h"

namespace dlc::ir::interp {

namespace {

using Ins = std::vector<const Tensor*>;

void conv_input_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &dy = *in[0], &k = *in[1];
  Tensor& dx = out[0];
  Window g = window(node, dx.shape(), dy.shape(), k.shape()[0], k.shape()[1]);
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++)
        g.taps(oy, ox, [&](int64_t i, int64_t j, int64_t iy, int64_t ix) {
          for (int64_t c = 0; c < g.c; c++) {
            double acc = 0;
            for (int64_t f = 0; f < g.oc; f++) acc += dy[g.y_at(b, oy, ox, f)] * k[g.w_at(i, j, c, f)];
            dx[g.x_at(b, iy, ix, c)] += acc;
          }
        });
}

void conv_filter_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &x = *in[0], &dy = *in[1];
  Tensor& dw = out[0];
  Window g = window(node, x.shape(), dy.shape(), dw.shape()[0], dw.shape()[1]);
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++)
        g.taps(oy, ox, [&](int64_t i, int64_t j, int64_t iy, int64_t ix) {
          for (int64_t c = 0; c < g.c; c++)
            for (int64_t f = 0; f < g.oc; f++)
              dw[g.w_at(i, j, c, f)] += x[g.x_at(b, iy, ix, c)] * dy[g.y_at(b, oy, ox, f)];
        });
}

// The whole gradient of a window goes to its first maximum (strict comparison in window
// order), matching max_pool2d's forward, which never lets padding win.
void max_pool_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &x = *in[0], &dy = *in[1];
  auto& win = node.attrs.get_ints("window");
  Window g = window(node, x.shape(), dy.shape(), win[0], win[1]);
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++)
        for (int64_t c = 0; c < g.c; c++) {
          int64_t best = -1;
          g.taps(oy, ox, [&](int64_t, int64_t, int64_t iy, int64_t ix) {
            int64_t at = g.x_at(b, iy, ix, c);
            if (best < 0 || x[at] > x[best]) best = at;
          });
          out[0][best] += dy[g.y_at(b, oy, ox, c)];
        }
}

// Each window's gradient is shared equally by its unpadded elements (avg_pool2d divides
// by their count).
void avg_pool_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor& dy = *in[0];
  Tensor& dx = out[0];
  auto& win = node.attrs.get_ints("window");
  Window g = window(node, dx.shape(), dy.shape(), win[0], win[1]);
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        int64_t count = 0;
        g.taps(oy, ox, [&](int64_t, int64_t, int64_t, int64_t) { count++; });
        for (int64_t c = 0; c < g.c; c++) {
          double share = dy[g.y_at(b, oy, ox, c)] / double(count);
          g.taps(oy, ox, [&](int64_t, int64_t, int64_t iy, int64_t ix) { dx[g.x_at(b, iy, ix, c)] += share; });
        }
      }
}

} // namespace

void register_window_grad_evals() {
  register_eval("conv2d_backprop_input", conv_input_grad);
  register_eval("conv2d_transpose", conv_input_grad); // the same computation as a layer
  register_eval("conv2d_backprop_filter", conv_filter_grad);
  register_eval("max_pool2d_grad", max_pool_grad);
  register_eval("avg_pool2d_grad", avg_pool_grad);
}

} // namespace dlc::ir::interp
