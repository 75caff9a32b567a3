// Anchors (the non-element-wise nodes of a kernel) as steps: a call of runtime/c_api.h
// for each op the runtime has a kernel for, or element-wise copy loops with spelled-out
// index arithmetic for data movement (broadcast_to, slice, concat, transpose); slice_grad
// zero-fills and reverse flips an axis through the runtime.
#include "passes/lower_detail.h"

#include "ir/error.h"
#include "runtime/kernels/augment.h"
#include "runtime/kernels/conv2d.h"
#include "runtime/kernels/gemm.h"

#include <functional>
#include <map>

namespace dlc::passes::lower_detail {

Arg ptr(const Ref& r, const char* name) {
  Arg a;
  a.kind = ArgKind::pointer;
  a.ref = r;
  a.name = name;
  return a;
}
Arg out(const Ref& r, const char* name) {
  Arg a = ptr(r, name);
  a.written = true;
  return a;
}
Arg i64(Extent e, const char* name) {
  Arg a;
  a.kind = ArgKind::integer;
  a.integer = e;
  a.name = name;
  return a;
}
Arg i64(int64_t v, const char* name) { return i64(Extent::fixed(v), name); }
Arg f32(double v, const char* name) {
  Arg a;
  a.kind = ArgKind::real;
  a.real = v;
  a.name = name;
  return a;
}

namespace {

using Lowerer = std::function<std::vector<Step>(const AnchorContext&)>;

Step call(std::string fn, std::vector<Arg> args, int64_t workspace_floats = 0) {
  Step s;
  s.kind = StepKind::call;
  s.call.fn = std::move(fn);
  s.call.args = std::move(args);
  s.call.workspace_floats = workspace_floats;
  return s;
}

// A loop copying `trip` elements from `src` (read at src_index) to `dst` (at dst_index).
Step copy_loop(Extent trip, Ref src, Index src_index, Ref dst, Index dst_index) {
  Step s;
  s.kind = StepKind::loop;
  s.loop.trip = trip;
  s.loop.operands = {{src, std::move(src_index), "src"}, {dst, std::move(dst_index), "dst"}};
  ScalarExpr r;
  r.kind = ScalarExpr::read;
  r.operand = 0;
  s.loop.body = {r};
  s.loop.stores = {{0, 1}};
  return s;
}

Index identity() { return Index{{IndexTerm{}}}; }

Ref offset_by(Ref r, int64_t elements) {
  r.offset += elements * ir::dtype_size(r.dtype);
  return r;
}

const std::vector<int64_t>& ints(const AnchorContext& c, const char* name) { return c.node.attrs.get_ints(name); }

// The 13 geometry arguments of the convolutions: n, h, w, c (input), kh, kw, f (filter),
// strides, pads. `x` is the input's shape, `wt` the filter's.
std::vector<Arg> conv_geometry(const AnchorContext& c, const ir::Shape& x, const ir::Shape& wt, bool batched) {
  auto& st = ints(c, "strides");
  auto& pd = ints(c, "pads");
  Dims d{x, batched, c.batch};
  return {i64(d.dim(0), "n"), i64(x[1], "h"),    i64(x[2], "w"),    i64(x[3], "c"),    i64(wt[0], "kh"),
          i64(wt[1], "kw"),  i64(wt[3], "f"),    i64(st[0], "sh"),  i64(st[1], "sw"),  i64(pd[0], "pt"),
          i64(pd[1], "pb"),  i64(pd[2], "pl"),   i64(pd[3], "pr")};
}

std::vector<Arg> pool_geometry(const AnchorContext& c, const ir::Shape& x, bool batched) {
  auto& win = ints(c, "window");
  auto& st = ints(c, "strides");
  auto& pd = ints(c, "pads");
  Dims d{x, batched, c.batch};
  return {i64(d.dim(0), "n"), i64(x[1], "h"),   i64(x[2], "w"),   i64(x[3], "c"),  i64(win[0], "kh"),
          i64(win[1], "kw"),  i64(st[0], "sh"), i64(st[1], "sw"), i64(pd[0], "pt"), i64(pd[1], "pb"),
          i64(pd[2], "pl"),   i64(pd[3], "pr")};
}

// The workspace a convolution call with conv_geometry's arguments needs at the batch.
int64_t conv_workspace_floats(const std::vector<Arg>& geom, int64_t batch) {
  auto v = [&](size_t i) { return geom.at(i).integer.at(batch); };
  return dlc_rt::conv2d_workspace_floats(
      {v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9), v(10), v(11), v(12)});
}

std::vector<Arg> plus(std::vector<Arg> a, std::initializer_list<Arg> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The function of a matmul or convolution (`base`: dlc_rt_matmul, dlc_rt_conv2d_forward)
// for the anchor's epilogue, and the epilogue's arguments: none; bias and act; bias and
// leaky_relu's slope.
std::string with_epilogue(const std::string& base, const AnchorContext& c) {
  if (!c.has_epilogue()) return base;
  return base + (c.act == int64_t(dlc_rt::Act::leaky_relu) ? "_bias_leaky_relu" : "_bias_act");
}
std::vector<Arg> epilogue(const AnchorContext& c) {
  if (!c.has_epilogue()) return {};
  if (c.act == int64_t(dlc_rt::Act::leaky_relu)) return {c.bias, f32(c.slope, "slope")};
  static const char* const names[] = {"DLC_RT_ACT_NONE", "DLC_RT_ACT_RELU", "DLC_RT_ACT_SIGMOID", "DLC_RT_ACT_TANH"};
  Arg act = i64(c.act, "act");
  act.symbol = names[c.act];
  return {c.bias, act};
}

std::vector<Step> matmul(const AnchorContext& c) {
  bool ta = c.node.attrs.get_bool("transpose_a", false), tb = c.node.attrs.get_bool("transpose_b", false);
  Dims a = c.in_dims(0), b = c.in_dims(1);
  Extent m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
  std::vector<Arg> args = {i64(ta, "trans_a"), i64(tb, "trans_b"), i64(m, "m"), i64(n, "n"), i64(k, "k"),
                           ptr(c.operands[0], "a"), i64(a.shape[1], "lda"), ptr(c.operands[1], "b"),
                           i64(b.shape[1], "ldb"), out(c.results[0], "c"), i64(c.out_type().shape[1], "ldc")};
  for (Arg& e : epilogue(c)) args.push_back(e);
  args.push_back(out(c.workspace, "ws"));
  return {call(with_epilogue("dlc_rt_matmul", c), args,
               dlc_rt::gemm_workspace_floats(m.at(c.batch), n.at(c.batch), k.at(c.batch)))};
}

// A convolution's call: its geometry, then `args`, then, when it takes one (`workspace`),
// the workspace it needs.
Step conv_call(const std::string& fn, const AnchorContext& c, const std::vector<Arg>& geom, std::vector<Arg> args,
               bool workspace) {
  std::vector<Arg> all = geom;
  all.insert(all.end(), args.begin(), args.end());
  if (!workspace) return call(fn, all);
  all.push_back(out(c.workspace, "ws"));
  return call(fn, all, conv_workspace_floats(geom, c.batch));
}

// The convolutions (conv2d and depthwise_conv2d, whose filter's last extent is its depth
// multiplier): the forward call `base` (with its epilogue) and the gradients' calls.
Lowerer conv_forward(const char* base, bool workspace) { // (x, w) -> y
  return [=](const AnchorContext& c) {
    auto geom = conv_geometry(c, c.in_type(0).shape, c.in_type(1).shape, c.operand_batched[0]);
    std::vector<Arg> args = {ptr(c.operands[0], "x"), ptr(c.operands[1], "wt"), out(c.results[0], "y")};
    for (Arg& e : epilogue(c)) args.push_back(e);
    return std::vector<Step>{conv_call(with_epilogue(base, c), c, geom, args, workspace)};
  };
}

Lowerer conv_backprop_input(const char* fn, bool workspace) { // (dy, w) -> dx
  return [=](const AnchorContext& c) {
    auto geom = conv_geometry(c, c.out_type().shape, c.in_type(1).shape, c.result_batched[0]);
    return std::vector<Step>{
        conv_call(fn, c, geom, {ptr(c.operands[0], "dy"), ptr(c.operands[1], "wt"), out(c.results[0], "dx")}, workspace)};
  };
}

Lowerer conv_backprop_filter(const char* fn, bool workspace) { // (x, dy) -> dw
  return [=](const AnchorContext& c) {
    auto geom = conv_geometry(c, c.in_type(0).shape, c.out_type().shape, c.operand_batched[0]);
    return std::vector<Step>{
        conv_call(fn, c, geom, {ptr(c.operands[0], "x"), ptr(c.operands[1], "dy"), out(c.results[0], "dw")}, workspace)};
  };
}

Lowerer pool_forward(const char* fn) {
  return [fn](const AnchorContext& c) {
    auto geom = pool_geometry(c, c.in_type(0).shape, c.operand_batched[0]);
    return std::vector<Step>{call(fn, plus(geom, {ptr(c.operands[0], "x"), out(c.results[0], "y")}))};
  };
}

std::vector<Step> max_pool2d_grad(const AnchorContext& c) { // (x, dy) -> dx
  auto geom = pool_geometry(c, c.in_type(0).shape, c.operand_batched[0]);
  return {call("dlc_rt_max_pool2d_backward", plus(geom, {ptr(c.operands[0], "x"), ptr(c.operands[1], "dy"),
                                                         out(c.results[0], "dx")}))};
}

std::vector<Step> avg_pool2d_grad(const AnchorContext& c) { // (dy) -> dx
  auto geom = pool_geometry(c, c.out_type().shape, c.result_batched[0]);
  return {call("dlc_rt_avg_pool2d_backward", plus(geom, {ptr(c.operands[0], "dy"), out(c.results[0], "dx")}))};
}

// [outer, len, inner] around the reduced axes, which must be contiguous.
std::vector<Arg> lines(const AnchorContext& c, const std::vector<bool>& reduced) {
  Dims x = c.in_dims(0);
  int r = x.shape.rank(), first = r, last = -1;
  for (int d = 0; d < r; d++)
    if (reduced[size_t(d)]) first = std::min(first, d), last = std::max(last, d);
  if (last < 0) first = 0; // nothing reduced: [1, 1, all], a copy
  for (int d = first; d <= last; d++)
    if (!reduced[size_t(d)])
      throw Error(fmt::format("node '{}' ({}): reduced axes must be adjacent for the compiled backends",
                              c.node.name, c.node.op->name));
  return {i64(x.prod(0, first), "outer"), i64(x.prod(first, last + 1), "len"), i64(x.prod(last + 1, r), "inner")};
}

std::vector<bool> reduced_axes(const AnchorContext& c) {
  int r = c.in_type(0).shape.rank();
  std::vector<bool> red(size_t(r), !c.node.attrs.has("axes"));
  if (c.node.attrs.has("axes"))
    for (int64_t a : ints(c, "axes")) red[size_t(a < 0 ? a + r : a)] = true;
  return red;
}

Lowerer reduce(const char* fn) {
  return [fn](const AnchorContext& c) {
    return std::vector<Step>{call(fn, plus(lines(c, reduced_axes(c)), {ptr(c.operands[0], "x"), out(c.results[0], "y")}))};
  };
}

// The axes of x that `shape` (numpy-aligned to the right) was broadcast along.
std::vector<Step> reduce_to_shape(const AnchorContext& c) {
  const ir::Shape &x = c.in_type(0).shape, &t = c.out_type().shape;
  std::vector<bool> red(size_t(x.rank()), false);
  int lead = x.rank() - t.rank();
  for (int d = 0; d < x.rank(); d++) red[size_t(d)] = d < lead || (t[d - lead] == 1 && x[d] != 1);
  return {call("dlc_rt_reduce_sum", plus(lines(c, red), {ptr(c.operands[0], "x"), out(c.results[0], "y")}))};
}

// The gradient of reduce_mean over its (adjacent) reduced axes: (x, dy) -> dx, x for its shape.
std::vector<Step> reduce_mean_grad(const AnchorContext& c) {
  return {call("dlc_rt_reduce_mean_grad", plus(lines(c, reduced_axes(c)), {ptr(c.operands[1], "dy"), out(c.results[0], "dx")}))};
}

// The gradient of reduce_max over its (adjacent) reduced axes: (x, dy) -> dx.
std::vector<Step> reduce_max_grad(const AnchorContext& c) {
  return {call("dlc_rt_reduce_max_grad", plus(lines(c, reduced_axes(c)), {ptr(c.operands[0], "x"),
                                                                         ptr(c.operands[1], "dy"), out(c.results[0], "dx")}))};
}

// maxout: the max over each group of k consecutive units of the last axis, the lines
// [count / k, k, 1] of x; its gradient to the first maximum of each group.
std::vector<Arg> maxout_lines(const AnchorContext& c) {
  int64_t k = c.node.attrs.get_int("k");
  Dims x = c.in_dims(0);
  Extent all = x.all();
  return {i64(Extent{all.per / k, all.batched}, "outer"), i64(k, "len"), i64(1, "inner")};
}

std::vector<Step> maxout(const AnchorContext& c) {
  return {call("dlc_rt_reduce_max", plus(maxout_lines(c), {ptr(c.operands[0], "x"), out(c.results[0], "y")}))};
}

std::vector<Step> maxout_grad(const AnchorContext& c) { // (x, dy) -> dx
  return {call("dlc_rt_reduce_max_grad", plus(maxout_lines(c), {ptr(c.operands[0], "x"), ptr(c.operands[1], "dy"),
                                                               out(c.results[0], "dx")}))};
}

std::vector<bool> one_axis(const AnchorContext& c) {
  int r = c.in_type(0).shape.rank();
  int64_t a = c.node.attrs.get_int("axis", -1);
  std::vector<bool> red(size_t(r), false);
  red[size_t(a < 0 ? a + r : a)] = true;
  return red;
}

Lowerer softmax(const char* fn) {
  return [fn](const AnchorContext& c) {
    return std::vector<Step>{call(fn, plus(lines(c, one_axis(c)), {ptr(c.operands[0], "x"), out(c.results[0], "y")}))};
  };
}

Lowerer softmax_grad(const char* fn) { // (y, dy) -> dx
  return [fn](const AnchorContext& c) {
    return std::vector<Step>{call(fn, plus(lines(c, one_axis(c)), {ptr(c.operands[0], "y"), ptr(c.operands[1], "dy"),
                                                                   out(c.results[0], "dx")}))};
  };
}

// Cross-entropies over [n, c] rows.
Lowerer row_loss(const char* fn, bool grad) {
  return [fn, grad](const AnchorContext& c) {
    Dims z = c.in_dims(0);
    std::vector<Arg> a = {i64(z.dim(0), "n"), i64(z.shape[1], "c"), ptr(c.operands[0], "z"), ptr(c.operands[1], "y")};
    if (grad) a.push_back(ptr(c.operands[2], "dloss"));
    a.push_back(out(c.results[0], grad ? "dz" : "loss"));
    return std::vector<Step>{call(fn, a)};
  };
}

// Losses that average over every element.
Lowerer element_loss(const char* fn, bool grad) {
  return [fn, grad](const AnchorContext& c) {
    std::vector<Arg> a = {i64(c.in_dims(0).all(), "count"), ptr(c.operands[0], "p"), ptr(c.operands[1], "y")};
    if (grad) a.push_back(ptr(c.operands[2], "dloss"));
    a.push_back(out(c.results[0], grad ? "dp" : "loss"));
    return std::vector<Step>{call(fn, a)};
  };
}

std::vector<Step> prelu_grad_slope(const AnchorContext& c) { // (x, dy) -> ds [C]
  Dims x = c.in_dims(0);
  int r = x.shape.rank();
  return {call("dlc_rt_prelu_slope_grad", {i64(x.prod(0, r - 1), "rows"), i64(x.shape[r - 1], "c"),
                                           ptr(c.operands[0], "x"), ptr(c.operands[1], "dy"), out(c.results[0], "ds")})};
}

std::vector<Step> broadcast_to(const AnchorContext& c) {
  const ir::Shape& out = c.out_type().shape;
  return {copy_loop(c.out_dims().all(), c.operands[0], broadcast_index(c.in_type(0).shape, out), c.results[0],
                    identity())};
}

std::vector<int64_t> row_strides(const ir::Shape& s) {
  std::vector<int64_t> st(size_t(s.rank()), 1);
  for (int d = s.rank() - 2; d >= 0; d--) st[size_t(d)] = st[size_t(d) + 1] * s[d + 1];
  return st;
}

std::vector<Step> transpose(const AnchorContext& c) {
  const ir::Shape& out = c.out_type().shape;
  auto in_st = row_strides(c.in_type(0).shape);
  auto& perm = ints(c, "perm");
  std::vector<int64_t> st;
  for (int64_t p : perm) st.push_back(in_st[size_t(p)]);
  return {copy_loop(c.out_dims().all(), c.operands[0], strided_index(out, st), c.results[0], identity())};
}

std::vector<Step> slice(const AnchorContext& c) {
  StridedRead r = slice_read(c.operands[0], c.in_type(0).shape, c.node.attrs, c.out_type().shape);
  return {copy_loop(c.out_dims().all(), r.ref, r.index, c.results[0], identity())};
}

// slice_grad: one runtime call zero-filling dx around dy's rows.
std::vector<Step> slice_grad(const AnchorContext& c) {
  Dims y = c.out_dims();
  int r = y.shape.rank(), axis = int(c.node.attrs.get_int("axis"));
  if (axis < 0) axis += r;
  return {call("dlc_rt_slice_grad", {i64(y.prod(0, axis), "outer"), i64(y.shape[axis], "len"),
                                     i64(c.node.attrs.get_int("begin"), "begin"), i64(c.in_type(0).shape[axis], "size"),
                                     i64(y.prod(axis + 1, r), "inner"), ptr(c.operands[0], "dy"),
                                     out(c.results[0], "dx")})};
}

// reverse: one runtime call over x viewed as [outer, len, inner].
std::vector<Step> reverse(const AnchorContext& c) {
  Dims x = c.in_dims(0);
  int r = x.shape.rank(), axis = int(c.node.attrs.get_int("axis"));
  if (axis < 0) axis += r;
  return {call("dlc_rt_reverse", {i64(x.prod(0, axis), "outer"), i64(x.shape[axis], "len"),
                                  i64(x.prod(axis + 1, r), "inner"), ptr(c.operands[0], "x"), out(c.results[0], "y")})};
}

// One copy loop per operand: operand elements land in the output's rows at their column.
std::vector<Step> concat(const AnchorContext& c) {
  const ir::Shape& out = c.out_type().shape;
  int axis = int(c.node.attrs.get_int("axis"));
  if (axis < 0) axis += out.rank();
  auto out_st = row_strides(out);
  std::vector<Step> steps;
  int64_t at = 0;
  for (size_t i = 0; i < c.operands.size(); i++) {
    const ir::Shape& x = c.in_type(i).shape;
    Ref dst = offset_by(c.results[0], at * out_st[size_t(axis)]);
    steps.push_back(copy_loop(c.in_dims(i).all(), c.operands[i], identity(), dst, strided_index(x, out_st)));
    at += x[axis];
  }
  return steps;
}

Arg run(RunValue v, const char* name) {
  Arg a;
  a.kind = ArgKind::run_value;
  a.run = v;
  a.name = name;
  return a;
}

// random_affine (x) -> y and its gradient (dy) -> dx: the geometry of x (forward) or dx,
// then the pointers, then the run values the draws are keyed by.
Lowerer random_affine(const char* fn, const char* in_name, const char* out_name) {
  return [=](const AnchorContext& c) {
    const ir::Attrs& a = c.node.attrs;
    const ir::Shape& x = c.node.op->phase == ir::Phase::backward ? c.out_type().shape : c.in_type(0).shape;
    const ir::Shape& y = c.node.op->phase == ir::Phase::backward ? c.in_type(0).shape : c.out_type().shape;
    Dims d{x, c.operand_batched[0], c.batch};
    std::vector<Arg> args = {
        i64(d.dim(0), "n"), i64(x[1], "h"), i64(x[2], "w"), i64(x[3], "c"), i64(y[1], "oh"), i64(y[2], "ow"),
        i64(dlc_rt::affine_kind_code(a.get_string("kind").c_str()), "kind"),
        f32(a.get_float("h_lower"), "h_lower"), f32(a.get_float("h_upper"), "h_upper"),
        f32(a.get_float("w_lower"), "w_lower"), f32(a.get_float("w_upper"), "w_upper"),
        i64(dlc_rt::fill_mode_code(a.get_string("fill_mode").c_str()), "fill_mode"),
        f32(a.get_float("fill_value"), "fill_value"),
        i64(dlc_rt::interpolation_code(a.get_string("interpolation").c_str()), "interpolation"),
        i64(a.get_int("stream"), "stream"), ptr(c.operands[0], in_name), out(c.results[0], out_name),
        run(RunValue::seed, "seed"), run(RunValue::step, "step"), run(RunValue::training, "training")};
    return std::vector<Step>{call(fn, args)};
  };
}

// Token embeddings over f32 ids (operand 0): lookup (ids, table), gradient (ids, dy) and
// one-hot. Integer indices (a loss's labels) have no kernel here.
std::vector<Step> embedding_lookup(const AnchorContext& c) {
  const ir::Shape& t = c.in_type(1).shape;
  return {call("dlc_rt_embedding_lookup", {i64(c.in_dims(0).all(), "count"), i64(t[0], "vocab"), i64(t[1], "dim"),
                                           ptr(c.operands[0], "ids"), ptr(c.operands[1], "table"),
                                           out(c.results[0], "y")})};
}

std::vector<Step> embedding_grad(const AnchorContext& c) {
  const ir::Shape& t = c.out_type().shape;
  return {call("dlc_rt_embedding_grad", {i64(c.in_dims(0).all(), "count"), i64(t[0], "vocab"), i64(t[1], "dim"),
                                         ptr(c.operands[0], "ids"), ptr(c.operands[1], "dy"),
                                         out(c.results[0], "dt")})};
}

std::vector<Step> one_hot(const AnchorContext& c) {
  if (c.in_type(0).dtype != ir::DType::f32)
    throw Error(fmt::format("node '{}' (one_hot): integer indices have no lowering for the compiled backends yet",
                            c.node.name));
  return {call("dlc_rt_one_hot", {i64(c.in_dims(0).all(), "count"), i64(c.node.attrs.get_int("depth"), "depth"),
                                  ptr(c.operands[0], "ids"), out(c.results[0], "y")})};
}

const std::map<std::string, Lowerer>& lowerers() {
  static const std::map<std::string, Lowerer> t = {
      {"matmul", matmul},
      {"conv2d", conv_forward("dlc_rt_conv2d_forward", true)},
      {"conv2d_backprop_input", conv_backprop_input("dlc_rt_conv2d_backward_input", true)},
      {"conv2d_transpose", conv_backprop_input("dlc_rt_conv2d_backward_input", true)}, // (x, w) -> y: the same call
      {"conv2d_backprop_filter", conv_backprop_filter("dlc_rt_conv2d_backward_filter", true)},
      {"depthwise_conv2d", conv_forward("dlc_rt_depthwise_conv2d_forward", false)},
      {"depthwise_conv2d_backprop_input", conv_backprop_input("dlc_rt_depthwise_conv2d_backward_input", false)},
      {"depthwise_conv2d_backprop_filter", conv_backprop_filter("dlc_rt_depthwise_conv2d_backward_filter", false)},
      {"max_pool2d", pool_forward("dlc_rt_max_pool2d_forward")},
      {"avg_pool2d", pool_forward("dlc_rt_avg_pool2d_forward")},
      {"max_pool2d_grad", max_pool2d_grad},
      {"avg_pool2d_grad", avg_pool2d_grad},
      {"reduce_sum", reduce("dlc_rt_reduce_sum")},
      {"reduce_mean", reduce("dlc_rt_reduce_mean")},
      {"reduce_max", reduce("dlc_rt_reduce_max")},
      {"reduce_max_grad", reduce_max_grad},
      {"reduce_mean_grad", reduce_mean_grad},
      {"maxout", maxout},
      {"maxout_grad", maxout_grad},
      {"reduce_to_shape", reduce_to_shape},
      {"softmax", softmax("dlc_rt_softmax")},
      {"log_softmax", softmax("dlc_rt_log_softmax")},
      {"softmax_grad", softmax_grad("dlc_rt_softmax_grad")},
      {"log_softmax_grad", softmax_grad("dlc_rt_log_softmax_grad")},
      {"softmax_cross_entropy", row_loss("dlc_rt_softmax_xent", false)},
      {"softmax_cross_entropy_grad", row_loss("dlc_rt_softmax_xent_grad", true)},
      {"sparse_softmax_cross_entropy", row_loss("dlc_rt_sparse_softmax_xent", false)},
      {"sparse_softmax_cross_entropy_grad", row_loss("dlc_rt_sparse_softmax_xent_grad", true)},
      {"mse", element_loss("dlc_rt_mse", false)},
      {"mse_grad", element_loss("dlc_rt_mse_grad", true)},
      {"binary_cross_entropy", element_loss("dlc_rt_bce", false)},
      {"binary_cross_entropy_grad", element_loss("dlc_rt_bce_grad", true)},
      {"sigmoid_binary_cross_entropy", element_loss("dlc_rt_sigmoid_bce", false)},
      {"sigmoid_binary_cross_entropy_grad", element_loss("dlc_rt_sigmoid_bce_grad", true)},
      {"prelu_grad_slope", prelu_grad_slope},
      {"broadcast_to", broadcast_to},
      {"transpose", transpose},
      {"slice", slice},
      {"slice_grad", slice_grad},
      {"reverse", reverse},
      {"concat", concat},
      {"random_affine", random_affine("dlc_rt_random_affine_forward", "x", "y")},
      {"random_affine_grad", random_affine("dlc_rt_random_affine_backward", "dy", "dx")},
      {"embedding_lookup", embedding_lookup},
      {"embedding_grad", embedding_grad},
      {"one_hot", one_hot},
  };
  return t;
}

} // namespace

std::vector<Step> lower_anchor(const AnchorContext& c) {
  auto it = lowerers().find(c.node.op->name);
  if (it == lowerers().end())
    throw Error(fmt::format("node '{}': op '{}' has no lowering for the compiled backends yet", c.node.name,
                            c.node.op->name));
  return it->second(c);
}

Index broadcast_index(const ir::Shape& shape, const ir::Shape& space) {
  if (shape == space) return identity();
  Index idx;
  int lead = space.rank() - shape.rank();
  int64_t in_stride = 1, inner = 1; // inner: elements of the space after axis d
  for (int d = space.rank() - 1; d >= 0; d--) {
    int sd = d - lead;
    int64_t extent = sd >= 0 ? shape[sd] : 1;
    if (extent != 1 || space[d] == 1) {
      if (extent != 1) idx.terms.push_back({inner, d == 0 ? 0 : space[d], in_stride});
      in_stride *= extent;
    }
    inner *= space[d];
  }
  return idx;
}

StridedRead slice_read(Ref base, const ir::Shape& in, const ir::Attrs& attrs, const ir::Shape& out) {
  int64_t axis = attrs.get_int("axis");
  if (axis < 0) axis += in.rank();
  std::vector<int64_t> st = row_strides(in);
  return {offset_by(base, attrs.get_int("begin") * st[size_t(axis)]), strided_index(out, st)};
}

Index strided_index(const ir::Shape& out, const std::vector<int64_t>& in_strides) {
  Index idx;
  int64_t inner = 1;
  for (int d = out.rank() - 1; d >= 0; d--) {
    if (out[d] != 1) idx.terms.push_back({inner, d == 0 ? 0 : out[d], in_strides[size_t(d)]});
    inner *= out[d];
  }
  return idx;
}

} // namespace dlc::passes::lower_detail
