// Reductions over a set of axes, and softmax / log_softmax along one axis.
#include "ir/ops/common.h"

#include <algorithm>

namespace dlc::ir::ops {

static std::vector<TensorType> infer_reduce(const InferContext& c) {
  c.expect_float(0);
  const Shape& s = c.in[0].shape;
  std::vector<bool> reduced(size_t(s.rank()), false);
  if (c.attrs.has("axes")) {
    for (int64_t a : c.attrs.get_ints("axes")) {
      int ax = normalize_axis(c, a, s.rank());
      if (reduced[size_t(ax)]) c.fail("axis {} is listed twice", a);
      reduced[size_t(ax)] = true;
    }
  } else {
    std::fill(reduced.begin(), reduced.end(), true); // no axes: reduce everything
  }
  bool keep = c.attrs.get_bool("keepdims", false);
  Shape out;
  for (int d = 0; d < s.rank(); d++) {
    if (!reduced[size_t(d)]) out.dims.push_back(s[d]);
    else if (keep) out.dims.push_back(1);
  }
  return {f32(out)};
}

void register_reduction_ops() {
  std::vector<AttrSpec> attrs = {{"axes", AttrKind::Ints, false}, {"keepdims", AttrKind::Bool, false}};
  // Batched unless the samples are among the reduced axes.
  BatchRule keeps_samples = [](const BatchContext& c) {
    if (!c.attrs.has("axes")) return false;
    for (int64_t a : c.attrs.get_ints("axes"))
      if ((a < 0 ? a + c.in[0].shape.rank() : a) == 0) return false;
    return true;
  };
  register_with({"reduce_sum", "sum over axes (all when none given)", 1, 1, attrs, infer_reduce, OpClass::reduction},
                keeps_samples);
  register_with({"reduce_mean", "mean over axes", 1, 1, attrs, infer_reduce, OpClass::reduction}, keeps_samples);
  register_with({"reduce_max", "max over axes", 1, 1, attrs, infer_reduce, OpClass::reduction}, keeps_samples);

  auto infer_axis = [](const InferContext& c) {
    c.expect_float(0);
    c.expect_min_rank(0, 1);
    normalize_axis(c, c.attrs.get_int("axis", -1), c.in[0].shape.rank());
    return std::vector<TensorType>{c.in[0]};
  };
  register_with({"softmax", "exp(x - max) / sum exp(x - max) along axis", 1, 1,
               {{"axis", AttrKind::Int, false}}, infer_axis, OpClass::reduction}, batch_along("axis", -1))
      .row_pass = true;
  register_with({"log_softmax", "x - max - log(sum exp(x - max)) along axis", 1, 1,
               {{"axis", AttrKind::Int, false}}, infer_axis, OpClass::reduction}, batch_along("axis", -1))
      .row_pass = true;
  for (const char* r : {"reduce_sum", "reduce_mean", "reduce_max"})
    registered_op(r).example = example({f32_in({2, 3, 4})}, {{"axes", std::vector<int64_t>{1}}});
  for (const char* s : {"softmax", "log_softmax"}) registered_op(s).example = example({f32_in({3, 5}, -2, 2)});
}

} // namespace dlc::ir::ops
