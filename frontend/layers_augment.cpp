// Keras's image augmentation layers: active in training steps only, each image drawing its
// own random transform from the counter RNG (so the JIT, emitted C++ and the interpreter
// draw the same), and the identity otherwise. random_flip, random_translation, random_zoom,
// random_rotation and random_crop are one random_affine node each (ir/ops/augment.cpp);
// random_contrast is element-wise. A layer that keeps the image's size is wrapped in
// phase_select, so inference code contains none of it.
#include "frontend/layers.h"

#include "ir/error.h"

#include <cmath>

namespace dlc::frontend {

namespace {

using ir::Shape;
using ir::ValueId;

void need_image(LayerCtx& c) {
  if (c.in_type().shape.rank() != 4 || !ir::is_float(c.in_type().dtype))
    c.fail_input(0, "a 4-D input [batch, height, width, channels] of floats");
}

// A Keras factor: f gives [-f, f] (or [0, f] with `symmetric` false), [lower, upper] as
// written; each bound within [min, max].
std::pair<double, double> read_factor(const JsonRef& r, double min, double max) {
  std::pair<double, double> f;
  if (r.is(json::Kind::Array)) {
    if (r.size() != 2) r.fail("expected a factor or [lower, upper], {}", r.describe());
    f = {r.at(0).as_number(), r.at(1).as_number()};
  } else {
    double v = r.as_number();
    f = {-std::fabs(v), std::fabs(v)};
  }
  if (!(f.first >= min && f.second <= max && f.first <= f.second))
    r.fail("expected factors with {} <= lower <= upper <= {}, {}", min, max, r.describe());
  return f;
}

std::string read_choice(LayerCtx& c, const std::string& key, const std::string& dflt,
                        const std::vector<std::string>& known) {
  auto r = c.spec.get(key);
  if (!r) return dflt;
  std::string v = r->as_string();
  if (std::find(known.begin(), known.end(), v) == known.end()) {
    std::string hint = did_you_mean(v, known);
    r->fail("layer '{}' ({}): unknown {} '{}'{}", c.info.name, c.info.type, key, clip(v),
            hint.empty() ? "; known: " + join_names(known) : hint);
  }
  return v;
}

struct Affine {
  std::string kind;
  double h_lower = 0, h_upper = 0, w_lower = 0, w_upper = 0;
  int64_t height = 0, width = 0; // 0: the input's
  std::string fill_mode = "constant", interpolation = "nearest";
  double fill_value = 0;
};

// Keras's fill_mode, fill_value and interpolation members (defaults: reflect, 0, bilinear).
void read_fill(LayerCtx& c, Affine& a) {
  a.fill_mode = read_choice(c, "fill_mode", "reflect", {"reflect", "wrap", "constant", "nearest"});
  a.interpolation = read_choice(c, "interpolation", "bilinear", {"nearest", "bilinear"});
  a.fill_value = c.spec.get_number("fill_value", 0.0);
  if (!std::isfinite(a.fill_value)) c.spec.require("fill_value").fail("expected a finite fill_value");
}

ValueId affine_node(LayerCtx& c, const Affine& a) {
  const Shape x = c.in_type().shape;
  int64_t oh = a.height ? a.height : x[1], ow = a.width ? a.width : x[2];
  ValueId y = c.op("random_affine", {c.in()},
                   {{"kind", a.kind},
                    {"stream", int64_t(c.g.nodes().size())},
                    {"height", oh},
                    {"width", ow},
                    {"h_lower", a.h_lower},
                    {"h_upper", a.h_upper},
                    {"w_lower", a.w_lower},
                    {"w_upper", a.w_upper},
                    {"fill_mode", a.fill_mode},
                    {"fill_value", a.fill_value},
                    {"interpolation", a.interpolation}},
                   oh == x[1] && ow == x[2] ? "augmented" : "");
  return oh == x[1] && ow == x[2] ? c.op("phase_select", {y, c.in()}) : y;
}

// RandomFlip: mode "horizontal", "vertical" or "horizontal_and_vertical" (the default);
// each image is flipped along each chosen axis with probability 1/2.
ValueId build_random_flip(LayerCtx& c) {
  need_image(c);
  std::string mode = read_choice(c, "mode", "horizontal_and_vertical",
                                 {"horizontal", "vertical", "horizontal_and_vertical"});
  Affine a;
  a.kind = "flip";
  a.h_upper = mode != "horizontal" ? 0.5 : 0.0;
  a.w_upper = mode != "vertical" ? 0.5 : 0.0;
  return affine_node(c, a);
}

// RandomTranslation: height_factor and width_factor as fractions of the extent.
ValueId build_random_translation(LayerCtx& c) {
  need_image(c);
  Affine a;
  a.kind = "translate";
  std::tie(a.h_lower, a.h_upper) = read_factor(c.spec.require("height_factor"), -1, 1);
  std::tie(a.w_lower, a.w_upper) = read_factor(c.spec.require("width_factor"), -1, 1);
  read_fill(c, a);
  return affine_node(c, a);
}

// RandomZoom: height_factor (zoom 1 + u; positive zooms out), width_factor (absent: the
// height's factor, keeping the aspect ratio).
ValueId build_random_zoom(LayerCtx& c) {
  need_image(c);
  Affine a;
  a.kind = "zoom";
  std::tie(a.h_lower, a.h_upper) = read_factor(c.spec.require("height_factor"), -1, 1e6);
  if (auto w = c.spec.get("width_factor")) {
    a.kind = "zoom_hw";
    std::tie(a.w_lower, a.w_upper) = read_factor(*w, -1, 1e6);
  }
  read_fill(c, a);
  return affine_node(c, a);
}

// RandomRotation: factor in turns (0.1: up to 36 degrees either way).
ValueId build_random_rotation(LayerCtx& c) {
  need_image(c);
  Affine a;
  a.kind = "rotate";
  std::tie(a.h_lower, a.h_upper) = read_factor(c.spec.require("factor"), -1e6, 1e6);
  read_fill(c, a);
  return affine_node(c, a);
}

// Pad-and-crop (torchvision's RandomCrop(size, padding)): the image padded with zeros by
// `padding` pixels on each side, and a height x width window (default: the input's size)
// taken at a random whole offset; the centre window outside training.
ValueId build_random_crop(LayerCtx& c) {
  need_image(c);
  const Shape x = c.in_type().shape;
  Affine a;
  a.kind = "crop";
  int64_t pad = 0;
  if (auto p = c.spec.get("padding")) {
    pad = p->as_int();
    if (pad < 0 || pad > 1 << 20) p->fail("expected a padding in [0, 2^20], {}", p->describe());
  }
  a.h_lower = a.h_upper = double(pad);
  a.height = c.spec.has("height") ? c.spec.require("height").as_positive_int() : x[1];
  a.width = c.spec.has("width") ? c.spec.require("width").as_positive_int() : x[2];
  if (a.height > x[1] + 2 * pad || a.width > x[2] + 2 * pad)
    c.spec.fail("layer '{}' (random_crop): a {}x{} window does not fit the {}x{} image padded by {}", c.info.name,
                a.height, a.width, x[1], x[2], pad);
  if (pad == 0 && a.height == x[1] && a.width == x[2])
    c.spec.fail("layer '{}' (random_crop): give a padding, or a height or width smaller than the image's {}x{}",
                c.info.name, x[1], x[2]);
  return affine_node(c, a);
}

// Keras's RandomContrast: in training each image's channels are spread about their mean
// by one factor per image, y = (x - mean) * f + mean, mean over height and width per
// channel, f ~ U[1 - lower, 1 + upper) ("factor": f or [lower, upper]); the identity
// otherwise (phase_select: inference code has none of it). No clipping to a value range.
ValueId build_random_contrast(LayerCtx& c) {
  need_image(c);
  JsonRef r = c.spec.require("factor");
  std::vector<double> f;
  if (r.is(json::Kind::Array)) {
    if (r.size() != 2) r.fail("expected a factor or [lower, upper], {}", r.describe());
    f = {r.at(0).as_number(), r.at(1).as_number()};
  } else {
    f = {r.as_number(), r.as_number()};
  }
  if (!(f[0] >= 0 && f[0] <= 1 && f[1] >= 0 && std::isfinite(f[1])))
    r.fail("expected factors with 0 <= lower <= 1 and upper >= 0, {}", r.describe());
  const Shape x = c.in_type().shape;
  ValueId mean = c.op("reduce_mean", {c.in()}, {{"axes", std::vector<int64_t>{1, 2}}, {"keepdims", true}}, "mean");
  ValueId factor = c.op("random_factor", {c.in()},
                        {{"lower", 1 - f[0]}, {"upper", 1 + f[1]}, {"stream", int64_t(c.g.nodes().size())},
                         {"block", x[1] * x[2] * x[3]}},
                        "factor");
  ValueId spread = c.op("mul", {c.op("sub", {c.in(), mean}, {}, "centered"), factor}, {}, "spread");
  return c.op("phase_select", {c.op("add", {spread, mean}, {}, "contrasted"), c.in()});
}

} // namespace

std::vector<LayerDef> augmentation_layers() {
  return {
      {"random_flip", {"mode"}, 1, 1, build_random_flip},
      {"random_translation", {"height_factor", "width_factor", "fill_mode", "interpolation", "fill_value"}, 1, 1,
       build_random_translation},
      {"random_zoom", {"height_factor", "width_factor", "fill_mode", "interpolation", "fill_value"}, 1, 1,
       build_random_zoom},
      {"random_rotation", {"factor", "fill_mode", "interpolation", "fill_value"}, 1, 1, build_random_rotation},
      {"random_crop", {"height", "width", "padding"}, 1, 1, build_random_crop},
      {"random_contrast", {"factor"}, 1, 1, build_random_contrast},
  };
}

} // namespace dlc::frontend
