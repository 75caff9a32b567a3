// Data-movement ops: flatten, reshape, concat, reverse, one_hot, maxout.
#include "ir/ops/common.h"

namespace dlc::ir::ops {

void register_shape_ops() {
  // [n, d1, d2, ...] -> [n, d1*d2*...]
  register_with({"flatten", "keeps the first axis, merges the rest", 1, 1, {},
               [](const InferContext& c) {
                 c.expect_min_rank(0, 1);
                 const Shape& s = c.in[0].shape;
                 int64_t rest = s.numel() / s[0];
                 return std::vector<TensorType>{TensorType{c.in[0].dtype, Shape{s[0], rest}}};
               },
               OpClass::shape}, batch_sample_wise()).view = true;

  register_with({"reshape", "same elements, new shape", 1, 1, {{"shape", AttrKind::Ints}},
               [](const InferContext& c) {
                 Shape out(c.attrs.get_ints("shape"));
                 for (auto d : out.dims)
                   if (d <= 0) c.fail("shape {} has a non-positive extent", out.str());
                 if (out.numel() != c.in[0].shape.numel())
                   c.fail("cannot reshape {} ({} elements) to {} ({} elements)", c.in[0].str(),
                          c.in[0].shape.numel(), out.str(), out.numel());
                 return std::vector<TensorType>{TensorType{c.in[0].dtype, out}};
               },
               OpClass::shape}, [](const BatchContext& c) {
                 // Rows stay sample-major: [batch, T, D] -> [batch * T, D] (the rows of every step,
                 // as a recurrent layer's input projection reads them) keeps the first n samples as
                 // the first n * T rows, and a run of n scales such an axis 0 with n.
                 const Shape& out = c.out[0].shape;
                 if (out.rank() == 0 || out[0] % c.batch != 0) c.fail("its rows would split samples");
                 return true;
               })
      .view = true;

  register_with({"concat", "joins operands along an axis", 1, -1, {{"axis", AttrKind::Int}},
               [](const InferContext& c) {
                 const TensorType& t0 = c.in[0];
                 int axis = normalize_axis(c, c.attrs.get_int("axis"), t0.shape.rank());
                 Shape out = t0.shape;
                 out[axis] = 0;
                 for (size_t i = 0; i < c.in.size(); i++) {
                   const TensorType& t = c.in[i];
                   bool ok = t.dtype == t0.dtype && t.shape.rank() == t0.shape.rank();
                   for (int d = 0; ok && d < t.shape.rank(); d++)
                     ok = d == axis || t.shape[d] == t0.shape[d];
                   if (!ok)
                     c.fail("operand {} {} does not fit operand 0 {} along axis {}", i, t.str(),
                            t0.str(), axis);
                   out[axis] += t.shape[axis];
                 }
                 return std::vector<TensorType>{TensorType{t0.dtype, out}};
               },
               OpClass::shape}, batch_along("axis", 0));

  // The elements of one axis in the opposite order (numpy's flip): a go_backwards
  // recurrent layer returns its steps last to first, as Keras does.
  register_with({"reverse", "x with axis `axis` in the opposite order", 1, 1, {{"axis", AttrKind::Int}},
               [](const InferContext& c) {
                 normalize_axis(c, c.attrs.get_int("axis"), c.in[0].shape.rank());
                 return std::vector<TensorType>{c.in[0]};
               },
               OpClass::shape}, batch_along("axis", 0));

  // Indices [...] -> f32 [..., depth]. Indices are integers, or f32 holding integers
  // (token ids of a model input: tensors cross the Runner boundary as floats). An index
  // outside [0, depth) or not an integer is an error in the interpreter; the runtime
  // kernel (dlc_rt_one_hot) writes an all-zero row for it.
  register_with({"one_hot", "1-of-N encoding of indices", 1, 1, {{"depth", AttrKind::Int}},
               [](const InferContext& c) {
                 if (!is_integer(c.in[0].dtype) && c.in[0].dtype != DType::f32)
                   c.fail("indices must be integers or f32, got {}", c.in[0].str());
                 int64_t depth = c.attrs.get_int("depth");
                 if (depth <= 0) c.fail("depth must be positive, got {}", depth);
                 Shape out = c.in[0].shape;
                 out.dims.push_back(depth);
                 return std::vector<TensorType>{f32(out)};
               },
               OpClass::shape}, batch_sample_wise())
      .differentiable = false;

  // Maxout: the last axis C is split into C/k groups of k consecutive units; each output
  // is the max of its group.
  register_with({"maxout", "max over groups of k units (last axis)", 1, 1, {{"k", AttrKind::Int}},
               [](const InferContext& c) {
                 c.expect_float(0);
                 c.expect_min_rank(0, 1);
                 int64_t k = c.attrs.get_int("k");
                 Shape out = c.in[0].shape;
                 int64_t& last = out.dims.back();
                 if (k <= 0 || last % k != 0)
                   c.fail("group size {} must be positive and divide the last axis ({})", k, last);
                 last /= k;
                 return std::vector<TensorType>{f32(out)};
               },
               OpClass::reduction}, batch_sample_wise());
  registered_op("flatten").example = example({f32_in({2, 3, 4})});
  registered_op("reshape").example = example({f32_in({2, 3, 4})}, {{"shape", std::vector<int64_t>{2, 12}}});
  registered_op("concat").example = example({f32_in({2, 3}), f32_in({2, 2})}, {{"axis", int64_t(1)}});
  registered_op("reverse").example = example({f32_in({2, 3, 4})}, {{"axis", int64_t(1)}});
  registered_op("one_hot").example = example({ids_in(f32({2, 3}), 5)}, {{"depth", int64_t(5)}});
  registered_op("maxout").example = example({f32_in({3, 6})}, {{"k", int64_t(2)}});
}

} // namespace dlc::ir::ops
