// Convolution and pooling over NHWC tensors.
//
// Layout: activations are NHWC and filters HWIO ([kh, kw, in_channels, filters]). NHWC is
// what Keras-style models declare (28x28x1), keeps a pixel's channels contiguous so the
// inner loops of convolution (im2col rows, the output-channel axis) vectorise, and lets
// bias_add and prelu act on the last axis for dense and convolutional layers alike.
// depthwise_conv2d's filter is [kh, kw, in_channels, depth_multiplier] (Keras's).
//
// Attributes: strides = [sh, sw]; pads = [top, bottom, left, right] zero padding. The
// frontend turns "valid", "same" and explicit padding into pads. Output extent per axis:
// floor((n + pad_before + pad_after - f) / s) + 1.
#include "ir/ops/common.h"

namespace dlc::ir::ops {

namespace {

struct Window {
  int64_t kh, kw, sh, sw, pt, pb, pl, pr;
};

Window read_window(const InferContext& c, int64_t kh, int64_t kw) {
  auto& st = c.attrs.get_ints("strides");
  auto& pd = c.attrs.get_ints("pads");
  if (st.size() != 2) c.fail("strides must have 2 entries, got {}", st.size());
  if (pd.size() != 4) c.fail("pads must have 4 entries (top, bottom, left, right), got {}", pd.size());
  for (auto s : st)
    if (s <= 0) c.fail("strides must be positive");
  for (auto p : pd)
    if (p < 0) c.fail("pads must not be negative");
  return {kh, kw, st[0], st[1], pd[0], pd[1], pd[2], pd[3]};
}

int64_t out_extent(const InferContext& c, int64_t n, int64_t f, int64_t s, int64_t p0, int64_t p1,
                   const char* axis) {
  int64_t padded = n + p0 + p1;
  if (padded < f)
    c.fail("window {} is larger than the padded {} extent {} of the input", f, axis, padded);
  return (padded - f) / s + 1;
}

std::vector<TensorType> window_output(const InferContext& c, const Window& w, int64_t channels) {
  const Shape& x = c.in[0].shape;
  int64_t oh = out_extent(c, x[1], w.kh, w.sh, w.pt, w.pb, "height");
  int64_t ow = out_extent(c, x[2], w.kw, w.sw, w.pl, w.pr, "width");
  return {f32({x[0], oh, ow, channels})};
}

std::vector<TensorType> infer_pool(const InferContext& c) {
  c.expect_float(0);
  c.expect_rank(0, 4);
  auto& win = c.attrs.get_ints("window");
  if (win.size() != 2 || win[0] <= 0 || win[1] <= 0)
    c.fail("window must be two positive extents");
  Window w = read_window(c, win[0], win[1]);
  if (w.pt >= w.kh || w.pb >= w.kh || w.pl >= w.kw || w.pr >= w.kw)
    c.fail("padding must be smaller than the window");
  return window_output(c, w, c.in[0].shape[3]);
}

// conv2d and depthwise_conv2d: x [n, h, w, c], filter [kh, kw, c, f]; the result has f
// channels, or c f (depthwise: f filters per input channel).
InferFn infer_conv(bool depthwise) {
  return [depthwise](const InferContext& c) {
    c.expect_float(0);
    c.expect_float(1);
    c.expect_rank(0, 4);
    c.expect_rank(1, 4);
    const Shape& x = c.in[0].shape;
    const Shape& k = c.in[1].shape;
    if (k[2] != x[3]) c.fail("filter expects {} input channels, input {} has {}", k[2], x.str(), x[3]);
    Window w = read_window(c, k[0], k[1]);
    return window_output(c, w, depthwise ? x[3] * k[3] : k[3]);
  };
}

} // namespace

void register_window_ops() {
  register_with({"conv2d", "y[n,oh,ow,f] = sum x[n,oh*sh+i-pt,ow*sw+j-pl,c] * w[i,j,c,f]", 2, 2,
               {{"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}},
               infer_conv(false),
               OpClass::conv}, batch_sample_wise()).takes_epilogue = true;

  // Keras's DepthwiseConv2D: each input channel c filtered alone by w[., ., c, k] into
  // output channel c m + k, m = w's last extent (the depth multiplier).
  register_with({"depthwise_conv2d", "y[n,oh,ow,c*m+k] = sum x[n,oh*sh+i-pt,ow*sw+j-pl,c] * w[i,j,c,k]", 2, 2,
               {{"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}},
               infer_conv(true),
               OpClass::conv}, batch_sample_wise()).takes_epilogue = true;

  std::vector<AttrSpec> pool_attrs = {
      {"window", AttrKind::Ints}, {"strides", AttrKind::Ints}, {"pads", AttrKind::Ints}};
  // Max pooling ignores padded positions (they never win).
  register_with({"max_pool2d", "max over each window", 1, 1, pool_attrs, infer_pool,
               OpClass::pool}, batch_sample_wise());
  // Average pooling divides by the number of real (unpadded) elements in each window.
  register_with({"avg_pool2d", "mean over each window's unpadded elements", 1, 1, pool_attrs,
               infer_pool, OpClass::pool}, batch_sample_wise());
  std::vector<int64_t> ones = {1, 1}, two = {2, 2};
  registered_op("conv2d").example = example({f32_in({2, 5, 5, 3}), f32_in({3, 3, 3, 4})},
                                            {{"strides", ones}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  registered_op("depthwise_conv2d").example =
      example({f32_in({2, 5, 6, 3}), f32_in({3, 2, 3, 2})}, {{"strides", std::vector<int64_t>{2, 1}},
                                                             {"pads", std::vector<int64_t>{1, 1, 0, 1}}});
  for (const char* pool : {"max_pool2d", "avg_pool2d"})
    registered_op(pool).example =
        example({f32_in({2, 4, 4, 3})}, {{"window", two}, {"strides", two}, {"pads", std::vector<int64_t>{0, 0, 0, 0}}});
}

} // namespace dlc::ir::ops
