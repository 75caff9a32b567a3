// Reference kernels of the data-movement ops.
#include "ir/interp/eval_common.h"

namespace dlc::ir::interp {

void register_shape_evals() {
  auto copy = [](const Node&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                 const EvalContext&) { out[0].data = in[0]->data; };
  register_eval("flatten", copy);
  register_eval("reshape", copy);

  register_eval("concat", [](const Node& n, const std::vector<const Tensor*>& in,
                             std::vector<Tensor>& out, const EvalContext&) {
    const Shape& ys = out[0].shape();
    int64_t axis = n.attrs.get_int("axis");
    if (axis < 0) axis += ys.rank();
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= ys[d];
    for (int d = int(axis) + 1; d < ys.rank(); d++) inner *= ys[d];
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; o++)
      for (const Tensor* t : in) {
        int64_t chunk = t->shape()[int(axis)] * inner;
        for (int64_t i = 0; i < chunk; i++) out[0][pos++] = (*t)[o * chunk + i];
      }
  });

  register_eval("reverse", [](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                              const EvalContext&) {
    const Shape& s = out[0].shape();
    int64_t axis = n.attrs.get_int("axis");
    if (axis < 0) axis += s.rank();
    int64_t outer = 1, len = s[int(axis)], inner = 1;
    for (int d = 0; d < axis; d++) outer *= s[d];
    for (int d = int(axis) + 1; d < s.rank(); d++) inner *= s[d];
    for (int64_t o = 0; o < outer; o++)
      for (int64_t t = 0; t < len; t++)
        for (int64_t i = 0; i < inner; i++)
          out[0][(o * len + t) * inner + i] = (*in[0])[(o * len + len - 1 - t) * inner + i];
  });

  register_eval("one_hot", [](const Node& n, const std::vector<const Tensor*>& in,
                              std::vector<Tensor>& out, const EvalContext&) {
    int64_t depth = n.attrs.get_int("depth");
    for (int64_t i = 0; i < in[0]->numel(); i++)
      out[0][i * depth + checked_index(n, (*in[0])[i], depth, i)] = 1.0f;
  });

  register_eval("maxout", [](const Node& n, const std::vector<const Tensor*>& in,
                             std::vector<Tensor>& out, const EvalContext&) {
    int64_t k = n.attrs.get_int("k");
    for (int64_t i = 0; i < out[0].numel(); i++) {
      double m = (*in[0])[i * k];
      for (int64_t j = 1; j < k; j++) m = std::max(m, (*in[0])[i * k + j]);
      out[0][i] = m;
    }
  });
}

} // namespace dlc::ir::interp
