// Backward ops: what the gradient rules of passes/autodiff emit where a composition of
// forward ops would be wasteful or unclear. Each takes the upstream gradient `dy` and
// the forward values it needs (the op's input x or its output y, never recomputed).
//
// Conventions at non-differentiable points (docs/autodiff.md): at a kink the gradient is
// the left derivative (relu'(0) = 0, leaky_relu'(0) = prelu'(0) = slope); where several
// elements tie for a maximum (max pooling, maxout, reduce_max, maximum) the whole gradient
// goes to the first of them in window / index order (for maximum and minimum: operand 0).
#include "ir/ops/common.h"

namespace dlc::ir::ops {

namespace {

// Operand `i` has the same type as operand `j`.
void expect_same(const InferContext& c, int i, int j) {
  if (c.in[size_t(i)] != c.in[size_t(j)])
    c.fail("operand {} {} must have the type of operand {} {}", i, c.in[size_t(i)].str(), j,
           c.in[size_t(j)].str());
}

// grad(v, dy): float operands of one type; the result has that type.
InferFn same_typed_pair() {
  return [](const InferContext& c) {
    c.expect_float(0);
    expect_same(c, 1, 0);
    return std::vector<TensorType>{c.in[0]};
  };
}

// The attributes of `c` named in `keep` (to run a forward op's type rule).
Attrs pick(const Attrs& a, std::initializer_list<const char*> keep) {
  Attrs out;
  for (const char* k : keep)
    if (a.has(k)) out.set(k, a.all().at(k));
  return out;
}

// Runs forward op `op`'s type rule on `in` and checks that its result is `dy`'s type:
// the geometry of a backward op is checked by the rule of the op it differentiates.
void expect_forward_result(const InferContext& c, const std::string& op,
                           const std::vector<TensorType>& in, const Attrs& attrs,
                           const TensorType& dy) {
  std::vector<TensorType> out = infer_types(get_op(op), c.node, in, attrs);
  if (out[0].shape != dy.shape)
    c.fail("gradient {} does not match the {} result {}", dy.str(), op, out[0].str());
}

int64_t last_extent(const Shape& s) { return s[s.rank() - 1]; }

// A backward op (emitted by gradient rules only) with its batch rule.
OpDef& backward(OpDef def, BatchRule batch) {
  OpDef& d = register_op(std::move(def));
  d.phase = Phase::backward;
  d.batch = std::move(batch);
  return d;
}

// A backward element-wise body op.
OpDef& backward_body(OpDef def, ScalarForm form = {}) {
  OpDef& d = body(std::move(def), std::move(form));
  d.phase = Phase::backward;
  return d;
}

TensorType type_from_attr(const InferContext& c, const char* attr) {
  Shape s(c.attrs.get_ints(attr));
  for (auto d : s.dims)
    if (d <= 0) c.fail("{} {} has a non-positive extent", attr, s.str());
  return f32(s);
}

void register_activation_grads() {
  backward_body({"relu_grad", "dy where y > 0, else 0 (y = relu(x); relu'(0) = 0)", 2, 2, {},
                 same_typed_pair()});
  backward_body({"leaky_relu_grad", "dy where x > 0, else alpha*dy", 2, 2, {{"alpha", AttrKind::Float}},
                 same_typed_pair()},
                {{{"alpha"}}});
  backward_body({"sigmoid_grad", "dy * y * (1 - y), y = sigmoid(x)", 2, 2, {}, same_typed_pair()});
  backward_body({"tanh_grad", "dy * (1 - y^2), y = tanh(x)", 2, 2, {}, same_typed_pair()});
  backward_body({"prelu_grad_input", "dy where x > 0, else slope[c]*dy", 3, 3, {}, [](const InferContext& c) {
                   infer_types(get_op("prelu"), c.node, {c.in[0], c.in[1]}, {});
                   expect_same(c, 2, 0);
                   return std::vector<TensorType>{c.in[0]};
                 }});
  backward({"prelu_grad_slope", "sum over all but the last axis of (x <= 0 ? x*dy : 0)", 2, 2, {},
            [](const InferContext& c) {
              c.expect_float(0);
              c.expect_min_rank(0, 1);
              expect_same(c, 1, 0);
              return std::vector<TensorType>{f32({last_extent(c.in[0].shape)})};
            }},
           batch_ends());
  backward({"maxout_grad", "dy to the first maximum of each group of k", 2, 2, {{"k", AttrKind::Int}},
            [](const InferContext& c) {
              expect_forward_result(c, "maxout", {c.in[0]}, c.attrs, c.in[1]);
              return std::vector<TensorType>{c.in[0]};
            }},
           batch_sample_wise());
  for (const char* name : {"softmax_grad", "log_softmax_grad"})
    backward({name, "gradient of (log_)softmax along axis from its output y", 2, 2,
              {{"axis", AttrKind::Int, false}},
              [name](const InferContext& c) {
                std::string fwd(name);
                fwd.resize(fwd.size() - 5); // strip "_grad"
                expect_forward_result(c, fwd, {c.in[0]}, c.attrs, c.in[1]);
                expect_same(c, 1, 0);
                return std::vector<TensorType>{c.in[0]};
              },
              OpClass::reduction},
             batch_along("axis", -1));
}

// maximum_grad(a, b, dy) {operand}: dy where the operand won (ties go to operand 0), in
// the broadcast shape of dy; reduce_to_shape brings it to the operand's shape.
void register_binary_grads() {
  for (const char* name : {"maximum_grad", "minimum_grad"})
    backward_body({name, "dy where the chosen operand is selected (ties: operand 0)", 3, 3,
                   {{"operand", AttrKind::Int}},
                   [](const InferContext& c) {
                     Shape out;
                     if (!broadcast_shapes(c.in[0].shape, c.in[1].shape, out) || out != c.in[2].shape)
                       c.fail("operands {} and {} do not broadcast to the gradient {}", c.in[0].str(),
                              c.in[1].str(), c.in[2].str());
                     int64_t k = c.attrs.get_int("operand");
                     if (k != 0 && k != 1) c.fail("operand must be 0 or 1, got {}", k);
                     return std::vector<TensorType>{c.in[2]};
                   }},
                  {{{"operand", ScalarType::i64}}});
}

void register_broadcast_grads() {
  // Sums x over the axes along which `shape` was broadcast to x's shape (numpy rules).
  backward({"reduce_to_shape", "sum over the broadcast axes down to shape", 1, 1,
               {{"shape", AttrKind::Ints}}, [](const InferContext& c) {
                 c.expect_float(0);
                 TensorType t = type_from_attr(c, "shape");
                 Shape b;
                 if (!broadcast_shapes(t.shape, c.in[0].shape, b) || b != c.in[0].shape)
                   c.fail("shape {} does not broadcast to {}", t.shape.str(), c.in[0].str());
                 return std::vector<TensorType>{t};
               },
               OpClass::reduction}, [](const BatchContext& c) {
                 // Summed over the broadcast axes: batched while axis 0 was not one of them.
                 return c.out[0].shape.rank() == c.in[0].shape.rank() && c.out[0].shape[0] == c.in[0].shape[0];
               });
  register_with({"broadcast_to", "repeats x along broadcast axes (numpy rules)", 1, 1,
               {{"shape", AttrKind::Ints}}, [](const InferContext& c) {
                 c.expect_float(0);
                 TensorType t = type_from_attr(c, "shape");
                 Shape b;
                 if (!broadcast_shapes(c.in[0].shape, t.shape, b) || b != t.shape)
                   c.fail("{} does not broadcast to {}", c.in[0].str(), t.shape.str());
                 return std::vector<TensorType>{t};
               },
               OpClass::shape}, batch_elementwise());
  backward({"reduce_max_grad", "dy to the first maximum of each reduced group", 2, 2,
               {{"axes", AttrKind::Ints, false}, {"keepdims", AttrKind::Bool, false}},
               [](const InferContext& c) {
                 expect_forward_result(c, "reduce_max", {c.in[0]}, c.attrs, c.in[1]);
                 return std::vector<TensorType>{c.in[0]};
               },
               OpClass::reduction}, batch_sample_wise());
  // reduce_mean's gradient where the reduced count depends on the run (the batch axis is
  // reduced): dy / count spread over the reduced axes, count taken when it runs.
  backward({"reduce_mean_grad", "dy / count spread over the reduced axes", 2, 2,
               {{"axes", AttrKind::Ints, false}, {"keepdims", AttrKind::Bool, false}},
               [](const InferContext& c) {
                 expect_forward_result(c, "reduce_mean", {c.in[0]}, c.attrs, c.in[1]);
                 return std::vector<TensorType>{c.in[0]};
               },
               OpClass::reduction}, batch_sample_wise());
  // The part [begin, begin + size) of axis `axis`: concat's gradient.
  register_with({"slice", "x[..., begin:begin+size, ...] along axis", 1, 1,
               {{"axis", AttrKind::Int}, {"begin", AttrKind::Int}, {"size", AttrKind::Int}},
               [](const InferContext& c) {
                 Shape s = c.in[0].shape;
                 int axis = normalize_axis(c, c.attrs.get_int("axis"), s.rank());
                 int64_t b = c.attrs.get_int("begin"), n = c.attrs.get_int("size");
                 if (b < 0 || n <= 0 || b + n > s[axis])
                   c.fail("slice [{}, {}) is outside axis {} of {}", b, b + n, axis, c.in[0].str());
                 s[axis] = n;
                 return std::vector<TensorType>{TensorType{c.in[0].dtype, s}};
               },
               OpClass::shape}, batch_along("axis", 0))
      .strided_load = true;
  // slice's gradient: dy placed at [begin, begin + size) of an axis of `extent`
  // elements, zeros elsewhere.
  backward({"slice_grad", "zeros with dy at [begin, begin+size) along axis", 1, 1,
               {{"axis", AttrKind::Int}, {"begin", AttrKind::Int}, {"extent", AttrKind::Int}},
               [](const InferContext& c) {
                 c.expect_float(0);
                 Shape s = c.in[0].shape;
                 int axis = normalize_axis(c, c.attrs.get_int("axis"), s.rank());
                 int64_t b = c.attrs.get_int("begin"), n = s[axis], e = c.attrs.get_int("extent");
                 if (b < 0 || b + n > e)
                   c.fail("dy's [{}, {}) is outside an axis of {} elements", b, b + n, e);
                 s[axis] = e;
                 return std::vector<TensorType>{TensorType{c.in[0].dtype, s}};
               },
               OpClass::shape}, batch_along("axis", 0));
}

void register_window_grads() {
  // The gradients of conv2d and depthwise_conv2d: <conv>_backprop_input(dy, w) and
  // <conv>_backprop_filter(x, dy), checked by the forward op's rule.
  for (std::string conv : {"conv2d", "depthwise_conv2d"}) {
    backward({conv + "_backprop_input", "d " + conv + " / d x: dy correlated with the flipped filter", 2, 2,
              {{"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}, {"input_shape", AttrKind::Ints}},
              [conv](const InferContext& c) {
                TensorType x = type_from_attr(c, "input_shape");
                expect_forward_result(c, conv, {x, c.in[1]}, pick(c.attrs, {"strides", "pads"}), c.in[0]);
                return std::vector<TensorType>{x};
              },
              OpClass::conv},
             batch_sample_wise());
    backward({conv + "_backprop_filter", "d " + conv + " / d w: x correlated with dy", 2, 2,
              {{"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}, {"filter_shape", AttrKind::Ints}},
              [conv](const InferContext& c) {
                TensorType w = type_from_attr(c, "filter_shape");
                expect_forward_result(c, conv, {c.in[0], w}, pick(c.attrs, {"strides", "pads"}), c.in[1]);
                return std::vector<TensorType>{w};
              },
              OpClass::conv},
             batch_ends());
  }
  // The transposed convolution (Keras's Conv2DTranspose) is conv2d_backprop_input as a
  // forward op: y = the input gradient of a conv2d of y's shape whose output gradient is
  // x. Its kernel is that conv2d's, [kh, kw, y channels, x channels].
  register_with({"conv2d_transpose", "conv2d's input gradient as a layer: x spread through the filter",
               2, 2,
               {{"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}, {"output_shape", AttrKind::Ints}},
               [](const InferContext& c) {
                 c.expect_float(0);
                 c.expect_float(1);
                 TensorType y = type_from_attr(c, "output_shape");
                 expect_forward_result(c, "conv2d", {y, c.in[1]}, pick(c.attrs, {"strides", "pads"}), c.in[0]);
                 return std::vector<TensorType>{y};
               },
               OpClass::conv}, batch_sample_wise());
  backward({"max_pool2d_grad", "dy to the first maximum of each window (padding never wins)",
               2, 2, {{"window", AttrKind::Ints}, {"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}},
               [](const InferContext& c) {
                 expect_forward_result(c, "max_pool2d", {c.in[0]}, c.attrs, c.in[1]);
                 return std::vector<TensorType>{c.in[0]};
               },
               OpClass::pool}, batch_sample_wise());
  backward({"avg_pool2d_grad", "dy / count spread over each window's unpadded elements", 1, 1,
               {{"window", AttrKind::Ints},
                {"strides", AttrKind::Ints},
                {"pads", AttrKind::Ints},
                {"input_shape", AttrKind::Ints}},
               [](const InferContext& c) {
                 TensorType x = type_from_attr(c, "input_shape");
                 expect_forward_result(c, "avg_pool2d", {x}, pick(c.attrs, {"window", "strides", "pads"}),
                                       c.in[0]);
                 return std::vector<TensorType>{x};
               },
               OpClass::pool}, batch_sample_wise());
}

// loss_grad(prediction, target, dy): d loss / d prediction, scaled by the scalar dy. The
// forward loss's type rule checks prediction and target.
void register_loss_grads() {
  for (const char* loss : {"mse", "softmax_cross_entropy", "sparse_softmax_cross_entropy",
                           "binary_cross_entropy", "sigmoid_binary_cross_entropy"})
    backward({std::string(loss) + "_grad", std::string("d ") + loss + " / d prediction", 3, 3, {},
                 [loss](const InferContext& c) {
                   infer_types(get_op(loss), c.node, {c.in[0], c.in[1]}, {});
                   if (c.in[2] != scalar_f32()) c.fail("dy must be f32[], got {}", c.in[2].str());
                   return std::vector<TensorType>{c.in[0]};
                 },
                 OpClass::loss}, batch_sample_wise());
}

} // namespace

void register_grad_ops() {
  register_activation_grads();
  register_binary_grads();
  register_broadcast_grads();
  register_window_grads();
  register_loss_grads();
  // Examples (tests/unit/op_coverage_test.cpp).
  auto set = [](const char* op, OpExample e) { registered_op(op).example = std::move(e); };
  ExampleOperand x = f32_in({3, 4}), y = f32_in({3, 4}, 0.05, 0.95), dy = f32_in({3, 4});
  set("relu_grad", example({x, dy}));
  set("leaky_relu_grad", example({x, dy}, {{"alpha", 0.2}}));
  set("sigmoid_grad", example({y, dy}));
  set("tanh_grad", example({y, dy}));
  set("prelu_grad_input", example({x, f32_in({4}, 0, 0.5), dy}));
  set("prelu_grad_slope", example({x, dy}));
  set("maxout_grad", example({f32_in({3, 6}), f32_in({3, 3})}, {{"k", int64_t(2)}}));
  set("softmax_grad", example({f32_in({3, 5}, 0.05, 0.4), f32_in({3, 5})}));
  set("log_softmax_grad", example({f32_in({3, 5}, -3, -0.5), f32_in({3, 5})}));
  set("maximum_grad", example({x, f32_in({3, 4}), dy}, {{"operand", int64_t(1)}}));
  set("minimum_grad", example({x, f32_in({3, 4}), dy}, {{"operand", int64_t(0)}}));
  set("reduce_to_shape", example({x}, {{"shape", std::vector<int64_t>{4}}}));
  set("broadcast_to", example({f32_in({4})}, {{"shape", std::vector<int64_t>{3, 4}}}));
  set("reduce_max_grad", example({f32_in({2, 3, 4}), f32_in({2, 4})}, {{"axes", std::vector<int64_t>{1}}}));
  set("reduce_mean_grad", example({f32_in({2, 3, 4}), f32_in({3, 4})}, {{"axes", std::vector<int64_t>{0}}}));
  set("slice", example({f32_in({2, 6})}, {{"axis", int64_t(1)}, {"begin", int64_t(2)}, {"size", int64_t(3)}}));
  set("slice_grad", example({f32_in({2, 3})}, {{"axis", int64_t(1)}, {"begin", int64_t(2)}, {"extent", int64_t(6)}}));
  std::vector<int64_t> ones = {1, 1}, pads = {1, 1, 1, 1}, none = {0, 0, 0, 0}, two = {2, 2};
  set("conv2d_backprop_input", example({f32_in({2, 5, 5, 4}), f32_in({3, 3, 3, 4})},
                                       {{"strides", ones}, {"pads", pads}, {"input_shape", std::vector<int64_t>{2, 5, 5, 3}}}));
  set("conv2d_transpose", example({f32_in({2, 3, 3, 4}), f32_in({3, 3, 2, 4})},
                                  {{"strides", two}, {"pads", std::vector<int64_t>{0, 1, 0, 1}},
                                   {"output_shape", std::vector<int64_t>{2, 6, 6, 2}}}));
  set("conv2d_backprop_filter", example({f32_in({2, 5, 5, 3}), f32_in({2, 5, 5, 4})},
                                        {{"strides", ones}, {"pads", pads}, {"filter_shape", std::vector<int64_t>{3, 3, 3, 4}}}));
  std::vector<int64_t> dw_strides = {2, 1}, dw_pads = {1, 1, 0, 1}; // depthwise_conv2d's example's
  set("depthwise_conv2d_backprop_input",
      example({f32_in({2, 3, 6, 6}), f32_in({3, 2, 3, 2})},
              {{"strides", dw_strides}, {"pads", dw_pads}, {"input_shape", std::vector<int64_t>{2, 5, 6, 3}}}));
  set("depthwise_conv2d_backprop_filter",
      example({f32_in({2, 5, 6, 3}), f32_in({2, 3, 6, 6})},
              {{"strides", dw_strides}, {"pads", dw_pads}, {"filter_shape", std::vector<int64_t>{3, 2, 3, 2}}}));
  set("max_pool2d_grad", example({f32_in({2, 4, 4, 3}), f32_in({2, 2, 2, 3})}, {{"window", two}, {"strides", two}, {"pads", none}}));
  set("avg_pool2d_grad", example({f32_in({2, 2, 2, 3})}, {{"window", two}, {"strides", two}, {"pads", none},
                                                          {"input_shape", std::vector<int64_t>{2, 4, 4, 3}}}));
  ExampleOperand scalar_dy = f32_in({}, 0.5, 1.5);
  set("mse_grad", example({x, f32_in({3, 4}), scalar_dy}));
  set("softmax_cross_entropy_grad", example({f32_in({3, 5}), target_in({3, 5}, 0.2, 0.2), scalar_dy}));
  set("sparse_softmax_cross_entropy_grad", example({f32_in({3, 5}), ids_in({DType::i32, {3}}, 5), scalar_dy}));
  set("binary_cross_entropy_grad", example({y, f32_in({3, 4}, 0, 1), scalar_dy}));
  set("sigmoid_binary_cross_entropy_grad", example({x, f32_in({3, 4}, 0, 1), scalar_dy}));
}

} // namespace dlc::ir::ops
