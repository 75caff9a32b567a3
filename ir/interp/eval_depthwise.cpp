// Reference kernels of depthwise_conv2d and its gradients (NHWC activations, filter
// [kh, kw, c, m]): output channel o = ch m + k reads input channel ch = o / m alone, and
// tap (i, j) of the filter holds the weights of all c m output channels in order.
#include "ir/interp/eval_common.h"
#include "ir/interp/window.h"

namespace dlc::ir::interp {

namespace {

using Ins = std::vector<const Tensor*>;

// Calls f(x index, y index, w index) for every product of the forward sum, in the order
// sample, output pixel, tap, output channel. x has shape xs, y ys, the filter ws.
template <typename F>
void each_product(const Node& node, const Shape& xs, const Shape& ys, const Shape& ws, F f) {
  Window g = window(node, xs, ys, ws[0], ws[1]);
  int64_t m = ws[3];
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++)
        g.taps(oy, ox, [&](int64_t i, int64_t j, int64_t iy, int64_t ix) {
          for (int64_t o = 0; o < g.oc; o++) f(g.x_at(b, iy, ix, o / m), g.y_at(b, oy, ox, o), (i * g.kw + j) * g.oc + o);
        });
}

void forward(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &x = *in[0], &w = *in[1];
  Tensor& y = out[0];
  each_product(node, x.shape(), y.shape(), w.shape(), [&](int64_t xi, int64_t yi, int64_t wi) { y[yi] += x[xi] * w[wi]; });
}

void input_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &dy = *in[0], &w = *in[1];
  Tensor& dx = out[0];
  each_product(node, dx.shape(), dy.shape(), w.shape(), [&](int64_t xi, int64_t yi, int64_t wi) { dx[xi] += dy[yi] * w[wi]; });
}

void filter_grad(const Node& node, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
  const Tensor &x = *in[0], &dy = *in[1];
  Tensor& dw = out[0];
  each_product(node, x.shape(), dy.shape(), dw.shape(), [&](int64_t xi, int64_t yi, int64_t wi) { dw[wi] += x[xi] * dy[yi]; });
}

} // namespace

void register_depthwise_evals() {
  register_eval("depthwise_conv2d", forward);
  register_eval("depthwise_conv2d_backprop_input", input_grad);
  register_eval("depthwise_conv2d_backprop_filter", filter_grad);
}

} // namespace dlc::ir::interp
