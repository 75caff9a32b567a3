// Reference kernels of reductions, softmax and log_softmax.
#include "ir/interp/eval_common.h"

#include <limits>

namespace dlc::ir::interp {

namespace {

enum class Reduce { sum, mean, max };

std::vector<bool> reduced_axes(const Node& n, int rank) {
  std::vector<bool> red(size_t(rank), !n.attrs.has("axes"));
  if (n.attrs.has("axes"))
    for (int64_t a : n.attrs.get_ints("axes")) red[size_t(a < 0 ? a + rank : a)] = true;
  return red;
}

void reduce(Reduce kind, const Node& n, const Tensor& x, Tensor& y) {
  const Shape& xs = x.shape();
  int r = xs.rank();
  auto red = reduced_axes(n, r);
  // Output strides over the input's axes (0 for reduced axes).
  std::vector<int64_t> ostride(size_t(r), 0);
  int64_t acc = 1;
  for (int d = r - 1; d >= 0; d--)
    if (!red[size_t(d)]) {
      ostride[size_t(d)] = acc;
      acc *= xs[d];
    }
  int64_t count = x.numel() / std::max<int64_t>(1, y.numel());
  std::vector<double> sum(size_t(y.numel()),
                          kind == Reduce::max ? -std::numeric_limits<double>::infinity() : 0.0);
  std::vector<int64_t> idx(size_t(r), 0);
  for (int64_t i = 0; i < x.numel(); i++) {
    int64_t o = 0;
    for (int d = 0; d < r; d++) o += idx[size_t(d)] * ostride[size_t(d)];
    double v = x[i];
    sum[size_t(o)] = kind == Reduce::max ? std::max(sum[size_t(o)], v) : sum[size_t(o)] + v;
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[size_t(d)] < xs[d]) break;
      idx[size_t(d)] = 0;
    }
  }
  for (int64_t i = 0; i < y.numel(); i++)
    y[i] = kind == Reduce::mean ? sum[size_t(i)] / double(count) : sum[size_t(i)];
}

// Applies f(row pointer, stride, length, out) over every line along `axis`.
void softmax_lines(const Node& n, const Tensor& x, Tensor& y, bool log) {
  const Shape& s = x.shape();
  int64_t axis = n.attrs.get_int("axis", -1);
  if (axis < 0) axis += s.rank();
  int64_t len = s[int(axis)], inner = 1;
  for (int d = int(axis) + 1; d < s.rank(); d++) inner *= s[d];
  int64_t outer = x.numel() / (len * inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < len; k++) m = std::max(m, double(x[base + k * inner]));
      double z = 0;
      for (int64_t k = 0; k < len; k++) z += std::exp(double(x[base + k * inner]) - m);
      for (int64_t k = 0; k < len; k++) {
        double v = double(x[base + k * inner]) - m;
        y[base + k * inner] = log ? v - std::log(z) : std::exp(v) / z;
      }
    }
}

} // namespace

void register_reduction_evals() {
  for (auto [name, kind] : {std::pair{"reduce_sum", Reduce::sum}, std::pair{"reduce_mean", Reduce::mean},
                            std::pair{"reduce_max", Reduce::max}})
    register_eval(name, [kind = kind](const Node& n, const std::vector<const Tensor*>& in,
                                      std::vector<Tensor>& out,
                                      const EvalContext&) { reduce(kind, n, *in[0], out[0]); });
  register_eval("softmax", [](const Node& n, const std::vector<const Tensor*>& in,
                              std::vector<Tensor>& out,
                              const EvalContext&) { softmax_lines(n, *in[0], out[0], false); });
  register_eval("log_softmax", [](const Node& n, const std::vector<const Tensor*>& in,
                                  std::vector<Tensor>& out,
                                  const EvalContext&) { softmax_lines(n, *in[0], out[0], true); });
}

} // namespace dlc::ir::interp
