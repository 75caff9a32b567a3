// Reference kernels of the backward ops (ir/ops/grad_ops.cpp): activations, broadcasting,
// reductions and slices. Window and loss gradients are in eval_grad_window.cpp and
// eval_grad_loss.cpp.
#include "ir/interp/eval_common.h"

#include <functional>

namespace dlc::ir::interp {

namespace {

using Ins = std::vector<const Tensor*>;

// out[i] = f(v[i], dy[i], attrs) for grad(v, dy) ops on one shape.
void pointwise(const std::string& name, std::function<double(double, double, const Attrs&)> f) {
  register_eval(name, [f](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &v = *in[0], &dy = *in[1];
    for (int64_t i = 0; i < v.numel(); i++) out[0][i] = f(v[i], dy[i], n.attrs);
  });
}

// Calls f(base, stride, length) for every line of `s` along `axis`.
void for_each_line(const Shape& s, int64_t axis, const std::function<void(int64_t, int64_t, int64_t)>& f) {
  if (axis < 0) axis += s.rank();
  int64_t len = s[int(axis)], inner = 1;
  for (int d = int(axis) + 1; d < s.rank(); d++) inner *= s[d];
  int64_t outer = s.numel() / (len * inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) f(o * len * inner + i, inner, len);
}

// The shape of a reduction with keepdims: reduced axes become 1. Maps each input element
// (through broadcast_map) to its output element, keepdims or not.
Shape keepdims_shape(const Node& n, const Shape& x) {
  Shape k = x;
  if (!n.attrs.has("axes")) {
    for (auto& d : k.dims) d = 1;
    return k;
  }
  for (int64_t a : n.attrs.get_ints("axes")) k[int(a < 0 ? a + x.rank() : a)] = 1;
  return k;
}

void register_activation_grad_evals() {
  pointwise("relu_grad", [](double y, double dy, const Attrs&) { return y > 0 ? dy : 0.0; });
  pointwise("leaky_relu_grad",
            [](double x, double dy, const Attrs& a) { return x > 0 ? dy : a.get_float("alpha") * dy; });
  pointwise("sigmoid_grad", [](double y, double dy, const Attrs&) { return dy * y * (1 - y); });
  pointwise("tanh_grad", [](double y, double dy, const Attrs&) { return dy * (1 - y * y); });

  register_eval("prelu_grad_input", [](const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &s = *in[1], &dy = *in[2];
    int64_t c = s.numel();
    for (int64_t i = 0; i < x.numel(); i++) out[0][i] = x[i] > 0 ? dy[i] : s[i % c] * dy[i];
  });
  register_eval("prelu_grad_slope", [](const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &dy = *in[1];
    int64_t c = out[0].numel();
    for (int64_t i = 0; i < x.numel(); i++)
      if (x[i] <= 0) out[0][i % c] += x[i] * dy[i];
  });
  register_eval("maxout_grad", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &dy = *in[1];
    int64_t k = n.attrs.get_int("k");
    for (int64_t g = 0; g < dy.numel(); g++) {
      int64_t best = g * k;
      for (int64_t j = 1; j < k; j++)
        if (x[g * k + j] > x[best]) best = g * k + j; // strict: ties keep the first
      out[0][best] = dy[g];
    }
  });
  register_eval("softmax_grad", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &y = *in[0], &dy = *in[1];
    for_each_line(y.shape(), n.attrs.get_int("axis", -1), [&](int64_t b, int64_t st, int64_t len) {
      double s = 0;
      for (int64_t k = 0; k < len; k++) s += dy[b + k * st] * y[b + k * st];
      for (int64_t k = 0; k < len; k++) out[0][b + k * st] = y[b + k * st] * (dy[b + k * st] - s);
    });
  });
  register_eval("log_softmax_grad", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &y = *in[0], &dy = *in[1];
    for_each_line(y.shape(), n.attrs.get_int("axis", -1), [&](int64_t b, int64_t st, int64_t len) {
      double s = 0;
      for (int64_t k = 0; k < len; k++) s += dy[b + k * st];
      for (int64_t k = 0; k < len; k++) out[0][b + k * st] = dy[b + k * st] - std::exp(y[b + k * st]) * s;
    });
  });
}

void register_broadcast_grad_evals() {
  for (const char* name : {"maximum_grad", "minimum_grad"}) {
    bool is_max = std::string(name) == "maximum_grad";
    register_eval(name, [is_max](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
      const Tensor &a = *in[0], &b = *in[1], &dy = *in[2];
      auto ma = broadcast_map(a.shape(), dy.shape());
      auto mb = broadcast_map(b.shape(), dy.shape());
      bool want_a = n.attrs.get_int("operand") == 0;
      for (int64_t i = 0; i < dy.numel(); i++) {
        double av = a[ma[size_t(i)]], bv = b[mb[size_t(i)]];
        bool a_wins = is_max ? av >= bv : av <= bv; // ties: operand 0
        out[0][i] = a_wins == want_a ? dy[i] : 0.0;
      }
    });
  }
  register_eval("reduce_to_shape", [](const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    auto map = broadcast_map(out[0].shape(), in[0]->shape());
    for (int64_t i = 0; i < in[0]->numel(); i++) out[0][map[size_t(i)]] += (*in[0])[i];
  });
  register_eval("broadcast_to", [](const Node&, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    auto map = broadcast_map(in[0]->shape(), out[0].shape());
    for (int64_t i = 0; i < out[0].numel(); i++) out[0][i] = (*in[0])[map[size_t(i)]];
  });
  register_eval("reduce_max_grad", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &dy = *in[1];
    auto map = broadcast_map(keepdims_shape(n, x.shape()), x.shape());
    std::vector<int64_t> first(size_t(dy.numel()), -1); // first maximum of each group
    for (int64_t i = 0; i < x.numel(); i++) {
      int64_t& f = first[size_t(map[size_t(i)])];
      if (f < 0 || x[i] > x[f]) f = i;
    }
    for (int64_t o = 0; o < dy.numel(); o++) out[0][first[size_t(o)]] = dy[o];
  });
  register_eval("reduce_mean_grad", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Tensor &x = *in[0], &dy = *in[1];
    auto map = broadcast_map(keepdims_shape(n, x.shape()), x.shape());
    double count = double(x.numel()) / double(std::max<int64_t>(dy.numel(), 1));
    for (int64_t i = 0; i < x.numel(); i++) out[0][i] = dy[map[size_t(i)]] / count;
  });
  register_eval("slice", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Shape& xs = in[0]->shape();
    int64_t axis = n.attrs.get_int("axis");
    if (axis < 0) axis += xs.rank();
    int64_t begin = n.attrs.get_int("begin"), size = n.attrs.get_int("size"), inner = 1;
    for (int d = int(axis) + 1; d < xs.rank(); d++) inner *= xs[d];
    int64_t outer = in[0]->numel() / (xs[int(axis)] * inner), pos = 0;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < size * inner; i++)
        out[0][pos++] = (*in[0])[(o * xs[int(axis)] + begin) * inner + i];
  });
  register_eval("slice_grad", [](const Node& n, const Ins& in, std::vector<Tensor>& out, const EvalContext&) {
    const Shape& ys = out[0].shape();
    int64_t axis = n.attrs.get_int("axis");
    if (axis < 0) axis += ys.rank();
    int64_t begin = n.attrs.get_int("begin"), size = in[0]->shape()[int(axis)], inner = 1;
    for (int d = int(axis) + 1; d < ys.rank(); d++) inner *= ys[d];
    int64_t outer = out[0].numel() / (ys[int(axis)] * inner), pos = 0;
    for (int64_t i = 0; i < out[0].numel(); i++) out[0][i] = 0.0;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < size * inner; i++)
        out[0][(o * ys[int(axis)] + begin) * inner + i] = (*in[0])[pos++];
  });
}

} // namespace

void register_grad_evals() {
  register_activation_grad_evals();
  register_broadcast_grad_evals();
  register_window_grad_evals();
  register_loss_grad_evals();
}

} // namespace dlc::ir::interp
