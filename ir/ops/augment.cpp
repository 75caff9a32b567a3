// Geometric augmentation of NHWC images: random_affine and its gradient. Each sample's
// output pixel (y, x) reads its input at M (y, x, 1), an affine map drawn per sample from
// the counter RNG in training (the identity otherwise; a crop: the centre window), with a
// fill mode for points outside the image and nearest or bilinear interpolation. The
// semantics, kernels and the names of `kind`, `fill_mode` and `interpolation` are those of
// runtime/kernels/augment.h; the frontend's random_flip, random_translation, random_zoom,
// random_rotation and random_crop layers each build one node.
//
// Attributes: kind, stream (the node's RNG stream), height and width (the output's
// extents), h_lower, h_upper, w_lower, w_upper (the kind's factors per axis), fill_mode,
// fill_value, interpolation. random_affine_grad(dy) has the same ones and input_shape.
#include "ir/ops/common.h"

#include "runtime/kernels/augment.h"

namespace dlc::ir::ops {

namespace {

std::vector<AttrSpec> affine_attrs() {
  return {{"kind", AttrKind::String},        {"stream", AttrKind::Int},        {"height", AttrKind::Int},
          {"width", AttrKind::Int},          {"h_lower", AttrKind::Float},     {"h_upper", AttrKind::Float},
          {"w_lower", AttrKind::Float},      {"w_upper", AttrKind::Float},     {"fill_mode", AttrKind::String},
          {"fill_value", AttrKind::Float},   {"interpolation", AttrKind::String}};
}

// The output's type for input x, after checking the attributes.
TensorType affine_output(const InferContext& c, const TensorType& x) {
  if (x.dtype != DType::f32 || x.shape.rank() != 4) c.fail("expected an f32 image [n, h, w, c], got {}", x.str());
  const Attrs& a = c.attrs;
  if (dlc_rt::affine_kind_code(a.get_string("kind").c_str()) < 0) c.fail("unknown kind '{}'", a.get_string("kind"));
  if (dlc_rt::fill_mode_code(a.get_string("fill_mode").c_str()) < 0)
    c.fail("unknown fill_mode '{}'", a.get_string("fill_mode"));
  if (dlc_rt::interpolation_code(a.get_string("interpolation").c_str()) < 0)
    c.fail("unknown interpolation '{}'", a.get_string("interpolation"));
  for (const char* f : {"h_lower", "h_upper", "w_lower", "w_upper", "fill_value"})
    if (!std::isfinite(a.get_float(f))) c.fail("{} must be finite", f);
  if (a.get_float("h_lower") > a.get_float("h_upper") || a.get_float("w_lower") > a.get_float("w_upper"))
    c.fail("lower factors must not exceed upper ones");
  int64_t oh = a.get_int("height"), ow = a.get_int("width");
  if (a.get_string("kind") == "crop") {
    double pad = a.get_float("h_lower");
    if (pad < 0 || pad != std::floor(pad)) c.fail("a crop's padding (h_lower) must be a whole number >= 0");
    if (oh <= 0 || ow <= 0 || oh > x.shape[1] + 2 * int64_t(pad) || ow > x.shape[2] + 2 * int64_t(pad))
      c.fail("a crop of {}x{} does not fit the padded {}x{} image", oh, ow, x.shape[1] + 2 * int64_t(pad),
             x.shape[2] + 2 * int64_t(pad));
  } else if (oh != x.shape[1] || ow != x.shape[2]) {
    c.fail("only a crop changes the image's size ({}x{} here, {}x{} given)", x.shape[1], x.shape[2], oh, ow);
  }
  return f32({x.shape[0], oh, ow, x.shape[3]});
}

} // namespace

void register_augment_ops() {
  OpDef& fwd = register_with({"random_affine", "y[n] = x[n] resampled at M_n (y, x, 1), M_n random in training",
                              1, 1, affine_attrs(),
                              [](const InferContext& c) { return std::vector<TensorType>{affine_output(c, c.in[0])}; },
                              OpClass::pool},
                             batch_sample_wise());
  std::vector<AttrSpec> grad_attrs = affine_attrs();
  grad_attrs.push_back({"input_shape", AttrKind::Ints});
  OpDef& grad = register_op({"random_affine_grad", "dy spread back over random_affine's taps with their weights", 1,
                             1, grad_attrs,
                             [](const InferContext& c) {
                               Shape s(c.attrs.get_ints("input_shape"));
                               for (auto d : s.dims)
                                 if (d <= 0) c.fail("input_shape {} has a non-positive extent", s.str());
                               TensorType x = f32(s), y = affine_output(c, x);
                               if (!(c.in[0] == y)) c.fail("dy must be {}, got {}", y.str(), c.in[0].str());
                               return std::vector<TensorType>{x};
                             },
                             OpClass::pool});
  grad.phase = Phase::backward;
  fwd.random = grad.random = true;
  grad.batch = batch_sample_wise();

  Attrs rotate{{"kind", std::string("rotate")}, {"stream", int64_t(3)},      {"height", int64_t(5)},
               {"width", int64_t(4)},           {"h_lower", -0.2},           {"h_upper", 0.2},
               {"w_lower", 0.0},                {"w_upper", 0.0},            {"fill_mode", std::string("reflect")},
               {"fill_value", 0.0},             {"interpolation", std::string("bilinear")}};
  fwd.example = example({f32_in({2, 5, 4, 3})}, rotate);
  Attrs rotate_grad = rotate;
  rotate_grad.set("input_shape", std::vector<int64_t>{2, 5, 4, 3});
  grad.example = example({f32_in({2, 5, 4, 3})}, rotate_grad);
}

} // namespace dlc::ir::ops
