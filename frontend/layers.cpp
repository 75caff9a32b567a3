#include "frontend/layers.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <fmt/ranges.h>
#include <map>

namespace dlc::frontend {

using ir::Attrs;
using ir::Shape;
using ir::ValueId;

int64_t checked_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s.dims)
    if (d <= 0 || __builtin_mul_overflow(n, d, &n) || n > kMaxElements) return -1;
  return n;
}

ValueId LayerCtx::op(const std::string& op, std::vector<ValueId> operands, Attrs attrs,
                     const std::string& suffix) {
  std::string n = info.name + "." + (suffix.empty() ? op : suffix);
  ValueId v;
  try {
    v = g.add(op, std::move(operands), std::move(attrs), n);
  } catch (const Error& e) {
    // A type rule rejected the layer: point at the layer in the file, without the
    // node's own prefix ("node 'dense_1.matmul' (matmul): "), which names no JSON.
    std::string why = e.what(), prefix = "node '" + n + "' (" + op + "): ";
    if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
    spec.fail("layer '{}' ({}): {}", info.name, info.type, why);
  }
  if (checked_numel(g.type(v).shape) < 0)
    spec.fail("layer '{}' ({}) is too large: its output {} has more than {} elements", info.name, info.type,
              g.type(v).shape.str(), kMaxElements);
  return v;
}

void LayerCtx::check_param_size(const std::string& suffix, const Shape& shape) const {
  if (checked_numel(shape) < 0)
    spec.fail("layer '{}' ({}) is too large: parameter '{}' {} has more than {} elements", info.name,
              info.type, suffix, shape.str(), kMaxElements);
}

// Keras's regularizers: "l1", "l2" or "l1_l2" (each weight 0.01, as Keras), or an object
// {"type": "l2", "l2": 1e-4} / {"type": "l1_l2", "l1": 1e-5, "l2": 1e-4}.
static std::pair<double, double> read_regularizer(const JsonRef& r) {
  static const std::vector<std::string> kinds = {"l1", "l2", "l1_l2"};
  JsonRef kind_ref = r.is(json::Kind::Object) ? r.require("type") : r;
  std::string kind = kind_ref.as_string();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
    std::string hint = did_you_mean(kind, kinds);
    kind_ref.fail("unknown regularizer '{}'{}", clip(kind), hint.empty() ? "; known: " + join_names(kinds) : hint);
  }
  bool has_l1 = kind != "l2", has_l2 = kind != "l1";
  double l1 = has_l1 ? 0.01 : 0, l2 = has_l2 ? 0.01 : 0;
  if (r.is(json::Kind::Object)) {
    std::vector<std::string> members = {"type"};
    if (has_l1) members.push_back("l1");
    if (has_l2) members.push_back("l2");
    r.expect_only(members, "regularizer '" + kind + "'");
    for (auto [key, weight] : {std::pair<const char*, double*>{"l1", &l1}, {"l2", &l2}}) {
      auto v = r.get(key);
      if (!v) continue;
      *weight = v->as_number();
      if (!(*weight >= 0) || !std::isfinite(*weight)) v->fail("expected a weight >= 0, {}", v->describe());
    }
  }
  return {l1, l2};
}

// Keras's constraints: "max_norm" ({"type": "max_norm", "max_value": 2, "axis": 0}: the
// axes the norm runs over, an integer or a list, negative from the end) or "non_neg".
static void read_constraint(const JsonRef& r, ir::Value& p) {
  static const std::vector<std::string> kinds = {"max_norm", "non_neg"};
  JsonRef kind_ref = r.is(json::Kind::Object) ? r.require("type") : r;
  std::string kind = kind_ref.as_string();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
    std::string hint = did_you_mean(kind, kinds);
    kind_ref.fail("unknown constraint '{}'{}", clip(kind), hint.empty() ? "; known: " + join_names(kinds) : hint);
  }
  if (kind == "non_neg") {
    if (r.is(json::Kind::Object)) r.expect_only({"type"}, "constraint 'non_neg'");
    p.non_neg = true;
    return;
  }
  p.max_norm = 2; // Keras's defaults
  p.max_norm_axes = {0};
  if (!r.is(json::Kind::Object)) return;
  r.expect_only({"type", "max_value", "axis"}, "constraint 'max_norm'");
  if (auto v = r.get("max_value")) {
    p.max_norm = v->as_number();
    if (!(p.max_norm > 0) || !std::isfinite(p.max_norm)) v->fail("expected a norm > 0, {}", v->describe());
  }
  if (auto a = r.get("axis")) {
    int64_t rank = p.type.shape.rank();
    p.max_norm_axes.clear();
    for (int64_t axis : a->as_int_list()) {
      if (axis < -rank || axis >= rank)
        a->fail("axis {} is out of range for the parameter's shape {}", axis, p.type.shape.str());
      axis = axis < 0 ? axis + rank : axis;
      if (std::find(p.max_norm_axes.begin(), p.max_norm_axes.end(), axis) != p.max_norm_axes.end())
        a->fail("axis {} is given twice", axis);
      p.max_norm_axes.push_back(axis);
    }
    if (p.max_norm_axes.empty()) a->fail("expected at least one axis");
    std::sort(p.max_norm_axes.begin(), p.max_norm_axes.end());
  }
}

ValueId LayerCtx::param(const std::string& suffix, Shape shape, ir::Initializer init, const std::string& member) {
  check_param_size(suffix, shape);
  ValueId p = g.add_param(info.name + "." + suffix, ir::TensorType{ir::DType::f32, std::move(shape)},
                          std::move(init));
  const std::string& m = member.empty() ? suffix : member;
  if (auto r = spec.get(m + "_regularizer")) std::tie(g.value(p).l1, g.value(p).l2) = read_regularizer(*r);
  if (auto r = spec.get(m + "_constraint")) read_constraint(*r, g.value(p));
  info.params.push_back(p);
  return p;
}

void LayerCtx::fail_input(size_t i, const std::string& needs) const {
  spec.fail("layer '{}' ({}) needs {}, but {} '{}' gives {}", info.name, info.type, needs,
            g.value(inputs[i].value).kind == ir::ValueKind::input ? "input" : "layer",
            inputs[i].layer, in_type(i).str());
}

// Each initializer with the member that sets its scale (runtime/init.h): "" when the
// scale comes from the fans alone.
static const std::vector<std::pair<std::string, std::string>> kInitKinds = {
    {"zeros", ""},          {"ones", ""},           {"constant", "value"},
    {"normal", "stddev"},   {"truncated_normal", "stddev"}, {"uniform", "limit"},
    {"glorot_uniform", ""}, {"glorot_normal", ""},  {"he_normal", ""},
    {"he_uniform", ""},     {"lecun_normal", ""},   {"orthogonal", "gain"}};

ir::Initializer LayerCtx::initializer(const std::string& key, const std::string& dflt,
                                      int64_t fan_in, int64_t fan_out) const {
  ir::Initializer init;
  init.kind = dflt;
  init.fan_in = fan_in;
  init.fan_out = fan_out;
  auto r = spec.get(key);
  if (!r) return init;
  JsonRef kind_ref = r->is(json::Kind::Object) ? r->require("type") : *r;
  init.kind = kind_ref.as_string();
  const std::string* scale_key = nullptr;
  std::vector<std::string> names;
  for (auto& [name, scale] : kInitKinds) {
    names.push_back(name);
    if (name == init.kind) scale_key = &scale;
  }
  if (!scale_key) {
    std::string hint = did_you_mean(init.kind, names);
    kind_ref.fail("unknown initializer '{}'{}", clip(init.kind), hint.empty() ? "; known: " + join_names(names) : hint);
  }
  if (!r->is(json::Kind::Object)) {
    if (init.kind == "constant") r->fail("a constant initializer needs a value: {{\"type\": \"constant\", \"value\": 0.1}}");
    return init;
  }
  std::vector<std::string> members = {"type"};
  if (!scale_key->empty()) members.push_back(*scale_key);
  r->expect_only(members, "initializer '" + init.kind + "'");
  if (scale_key->empty()) return init;
  if (auto v = r->get(*scale_key)) {
    init.value = v->as_number();
    init.has_value = true;
    if (*scale_key != "value" && init.value <= 0) v->fail("expected a positive number, {}", v->describe());
  } else if (init.kind == "constant") {
    r->fail("a constant initializer needs 'value'");
  }
  return init;
}

ValueId LayerCtx::activation(ValueId x, const std::string& key) {
  auto r = spec.get(key);
  if (!r) {
    info.activation = "";
    return x;
  }
  return apply_activation(*this, x, *r);
}

namespace {

// kernel_size, strides, pool_size: an integer or a pair.
std::pair<int64_t, int64_t> read_pair(const JsonRef& spec, const std::string& key, int64_t dflt_a,
                                      int64_t dflt_b) {
  auto r = spec.get(key);
  if (!r) return {dflt_a, dflt_b};
  if (r->is(json::Kind::Number)) {
    int64_t v = r->as_positive_int();
    return {v, v};
  }
  if (!r->is(json::Kind::Array) || r->size() != 2)
    r->fail("expected a positive integer or a pair of them, {}", r->describe());
  return {r->at(0).as_positive_int(), r->at(1).as_positive_int()};
}

// TensorFlow's "same": output = ceil(n / s); the padding total is split with the extra
// element at the end (bottom/right).
std::pair<int64_t, int64_t> same_pads(int64_t n, int64_t f, int64_t s) {
  int64_t out = (n + s - 1) / s;
  int64_t total = std::max<int64_t>((out - 1) * s + f - n, 0);
  return {total / 2, total - total / 2};
}

// padding: "valid", "same", an integer p, [ph, pw] or [top, bottom, left, right].
std::vector<int64_t> read_pads(const LayerCtx& c, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
  auto r = c.spec.get("padding");
  if (!r) return {0, 0, 0, 0};
  if (r->is(json::Kind::String)) {
    std::string p = r->as_string();
    if (p == "valid") return {0, 0, 0, 0};
    if (p == "same") {
      const Shape& x = c.in_type().shape;
      auto [t, b] = same_pads(x[1], kh, sh);
      auto [l, rr] = same_pads(x[2], kw, sw);
      return {t, b, l, rr};
    }
    std::string hint = did_you_mean(p, {"valid", "same"});
    r->fail("unknown padding '{}'{}", clip(p), hint.empty() ? "; use \"valid\", \"same\" or explicit amounts" : hint);
  }
  std::vector<int64_t> v = r->as_int_list();
  for (size_t i = 0; i < v.size(); i++)
    if (v[i] < 0) (r->is(json::Kind::Array) ? r->at(i) : *r).fail("padding must not be negative, got {}", v[i]);
  if (v.size() == 1) return {v[0], v[0], v[0], v[0]};
  if (v.size() == 2) return {v[0], v[0], v[1], v[1]};
  if (v.size() == 4) return v;
  r->fail("expected 1, 2 or 4 padding amounts, got {}", v.size());
}

void check_window_fits(LayerCtx& c, int64_t kh, int64_t kw, const std::vector<int64_t>& pads) {
  const Shape& x = c.in_type().shape;
  if (x[1] + pads[0] + pads[1] < kh || x[2] + pads[2] + pads[3] < kw)
    c.spec.fail("layer '{}' ({}): window {}x{} does not fit the {}x{} input from '{}' (padding {},{},{},{})",
                c.info.name, c.info.type, kh, kw, x[1], x[2], c.inputs[0].layer, pads[0], pads[1],
                pads[2], pads[3]);
}

void need_rank(LayerCtx& c, int rank, const std::string& what) {
  if (c.in_type().shape.rank() != rank) c.fail_input(0, what);
}

void need_float(LayerCtx& c) {
  if (!ir::is_float(c.in_type().dtype)) c.fail_input(0, "a float input");
}

// An image layer's input: [batch, height, width, channels] of floats.
void need_image(LayerCtx& c) {
  need_rank(c, 4, "a 4-D input [batch, height, width, channels]");
  need_float(c);
}

ValueId build_dense(LayerCtx& c) {
  // A copy: adding parameters and nodes below may move the graph's values.
  const Shape xs = c.in_type().shape;
  if (xs.rank() < 2) c.fail_input(0, "an input of rank 2 or more [batch, ..., features]");
  need_float(c);
  int64_t units = c.spec.require("units").as_positive_int();
  int64_t in = xs[xs.rank() - 1];
  ValueId x = c.in();
  // Higher-rank inputs: the dense layer acts on the last axis of every position.
  if (xs.rank() > 2) x = c.op("reshape", {x}, {{"shape", std::vector<int64_t>{xs.numel() / in, in}}}, "to_rows");
  ValueId w = c.param("kernel", {in, units}, c.initializer("kernel_initializer", "glorot_uniform", in, units));
  ValueId y = c.op("matmul", {x, w});
  if (c.spec.get_bool("use_bias", true))
    y = c.op("bias_add", {y, c.param("bias", {units}, c.initializer("bias_initializer", "zeros", in, units))});
  if (xs.rank() > 2) {
    std::vector<int64_t> out = xs.dims;
    out.back() = units;
    y = c.op("reshape", {y}, {{"shape", out}}, "from_rows");
  }
  return c.activation(y);
}

// Keras's LayerNormalization: each sample normalised over `axis` (the last axis, or a list
// of trailing axes) to zero mean and unit variance (biased, as Keras and PyTorch), then
// scaled by gamma and shifted by beta, parameters of the normalised axes' shape. Built
// from reduce_mean, sub, square, scale (+epsilon), sqrt, div, mul and add, so every
// backend runs it and autodiff derives its gradient.
ValueId build_layer_normalization(LayerCtx& c) {
  need_float(c);
  const Shape xs = c.in_type().shape;
  int rank = xs.rank();
  if (rank < 2) c.fail_input(0, "an input of rank 2 or more [batch, ..., features]");
  std::vector<int64_t> axes;
  if (auto a = c.spec.get("axis")) {
    if (a->is(json::Kind::Array)) {
      for (size_t i = 0; i < a->size(); i++) axes.push_back(a->at(i).as_int());
    } else {
      axes.push_back(a->as_int());
    }
    for (int64_t& ax : axes) {
      if (ax < -rank || ax >= rank || ax == 0 || ax == -rank)
        a->fail("layer '{}' (layer_normalization): axis {} is not a feature axis of {}", c.info.name, ax,
                c.in_type().str());
      if (ax < 0) ax += rank;
    }
    std::sort(axes.begin(), axes.end());
    for (size_t i = 0; i < axes.size(); i++)
      if (axes[i] != rank - int64_t(axes.size()) + int64_t(i))
        a->fail("layer '{}' (layer_normalization): normalises trailing axes only; axes {} of {} are not",
                c.info.name, fmt::join(axes, ", "), c.in_type().str());
  } else {
    axes.push_back(rank - 1);
  }
  double eps = c.spec.get("epsilon") ? c.spec.require("epsilon").as_number() : 1e-3;
  if (!(eps > 0)) c.spec.require("epsilon").fail("expected a positive epsilon, {}", c.spec.require("epsilon").describe());
  Shape ps;
  for (int64_t ax : axes) ps.dims.push_back(xs[int(ax)]);
  ir::Attrs over{{"axes", axes}, {"keepdims", true}};
  ValueId x = c.in();
  ValueId d = c.op("sub", {x, c.op("reduce_mean", {x}, over, "mean")}, {}, "centered");
  ValueId var = c.op("reduce_mean", {c.op("square", {d}, {}, "squared")}, over, "variance");
  ValueId sd = c.op("sqrt", {c.op("scale", {var}, {{"scale", 1.0}, {"offset", eps}}, "variance_eps")}, {}, "stddev");
  ValueId y = c.op("div", {d, sd}, {}, "normalized");
  int64_t k = ps.numel();
  if (c.spec.get_bool("scale", true))
    y = c.op("mul", {y, c.param("gamma", ps, c.initializer("gamma_initializer", "ones", k, k))}, {}, "scaled");
  if (c.spec.get_bool("center", true))
    y = c.op("add", {y, c.param("beta", ps, c.initializer("beta_initializer", "zeros", k, k))}, {}, "shifted");
  return y;
}

// Batch normalisation over the last axis (Keras's default axis -1: the features of a dense
// output, the channels of an NHWC image), Ioffe & Szegedy (2015) with Keras's semantics:
//   training   y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and (biased) var over
//              every axis but the last; moving_mean <- m moving_mean + (1 - m) mean and
//              moving_variance likewise (graph updates, training steps only)
//   inference  the same with moving_mean and moving_variance
// The two forms meet in `phase_select`; passes::specialize_phase keeps one per program.
// moving_mean and moving_variance are frozen params (saved with the weights, no gradient).
ValueId build_batch_normalization(LayerCtx& c) {
  need_float(c);
  const Shape xs = c.in_type().shape;
  int rank = xs.rank();
  if (rank < 2) c.fail_input(0, "an input of rank 2 or more [batch, ..., features]");
  if (auto a = c.spec.get("axis")) {
    int64_t axis = a->as_int();
    if (axis != -1 && axis != rank - 1)
      a->fail("layer '{}' (batch_normalization): normalises the last axis (-1, the channels of NHWC) only; axis {} of "
              "{} is not",
              c.info.name, axis, c.in_type().str());
  }
  auto number = [&](const char* key, double dflt, bool fraction) {
    auto v = c.spec.get(key);
    if (!v) return dflt;
    double x = v->as_number();
    if (fraction ? !(x >= 0 && x < 1) : !(x > 0)) v->fail("expected {}, {}", fraction ? "a number in [0, 1)" : "a positive number", v->describe());
    return x;
  };
  double momentum = number("momentum", 0.99, true), eps = number("epsilon", 1e-3, false);
  int64_t ch = xs[rank - 1];
  Shape ps{ch};
  std::vector<int64_t> axes;
  for (int i = 0; i < rank - 1; i++) axes.push_back(i);
  ir::TensorType stat{ir::DType::f32, ps};
  auto frozen = [&](const char* suffix, const char* init) {
    ValueId p = c.g.add_param(c.info.name + "." + suffix, stat, ir::Initializer{init}, false);
    c.info.params.push_back(p);
    return p;
  };
  ValueId moving_mean = frozen("moving_mean", "zeros"), moving_var = frozen("moving_variance", "ones");
  ValueId x = c.in();
  auto normalise = [&](ValueId mean, ValueId var, const std::string& form) {
    ValueId d = c.op("sub", {x, mean}, {}, form + "_centered");
    ValueId sd = c.op("sqrt", {c.op("scale", {var}, {{"scale", 1.0}, {"offset", eps}}, form + "_variance_eps")}, {},
                      form + "_stddev");
    return c.op("div", {d, sd}, {}, form + "_normalized");
  };
  // A frozen layer ("trainable": false) runs in inference mode, in training too: the
  // moving statistics normalise and are not updated (Keras 2.1.3 and later), which is
  // what fine-tuning on top of a pre-trained base needs.
  auto scale_and_shift = [&](ValueId y) {
    if (c.spec.get_bool("scale", true))
      y = c.op("mul", {y, c.param("gamma", ps, c.initializer("gamma_initializer", "ones", ch, ch))}, {}, "scaled");
    if (c.spec.get_bool("center", true))
      y = c.op("add", {y, c.param("beta", ps, c.initializer("beta_initializer", "zeros", ch, ch))}, {}, "shifted");
    return y;
  };
  if (!c.spec.get_bool("trainable", true)) return scale_and_shift(normalise(moving_mean, moving_var, "moving"));
  ir::Attrs over{{"axes", axes}};
  ValueId mean = c.op("reduce_mean", {x}, over, "batch_mean");
  ValueId var = c.op("reduce_mean", {c.op("square", {c.op("sub", {x, mean}, {}, "batch_deviation")}, {}, "batch_squared")},
                     over, "batch_variance");
  ValueId y = c.op("phase_select", {normalise(mean, var, "batch"), normalise(moving_mean, moving_var, "moving")}, {},
                   "normalized");
  auto average = [&](ValueId moving, ValueId now, const std::string& name) {
    ValueId next = c.op("add", {c.op("scale", {moving}, {{"scale", momentum}}, name + "_decayed"),
                                c.op("scale", {now}, {{"scale", 1 - momentum}}, name + "_new_part")},
                        {}, name + "_next");
    c.g.add_update(moving, next);
  };
  average(moving_mean, mean, "moving_mean");
  average(moving_var, var, "moving_variance");
  return scale_and_shift(y);
}

ValueId build_conv2d(LayerCtx& c) {
  need_image(c);
  int64_t filters = c.spec.require("filters").as_positive_int();
  c.spec.require("kernel_size");
  auto [kh, kw] = read_pair(c.spec, "kernel_size", 0, 0);
  auto [sh, sw] = read_pair(c.spec, "strides", 1, 1);
  auto pads = read_pads(c, kh, kw, sh, sw);
  check_window_fits(c, kh, kw, pads);
  int64_t cin = c.in_type().shape[3];
  Shape kernel{kh, kw, cin, filters};
  c.check_param_size("kernel", kernel); // before the fans, which must not overflow
  int64_t fan_in = kh * kw * cin, fan_out = kh * kw * filters;
  ValueId w = c.param("kernel", kernel, c.initializer("kernel_initializer", "glorot_uniform", fan_in, fan_out));
  ValueId y = c.op("conv2d", {c.in(), w}, {{"strides", std::vector<int64_t>{sh, sw}}, {"pads", pads}});
  if (c.spec.get_bool("use_bias", true))
    y = c.op("bias_add", {y, c.param("bias", {filters}, c.initializer("bias_initializer", "zeros", fan_in, fan_out))});
  return c.activation(y);
}

// Keras's DepthwiseConv2D: kernel [kh, kw, channels, depth_multiplier]; output channel
// ch * depth_multiplier + k is channel ch filtered by kernel[., ., ch, k]. The fans are
// Keras's, computed from the kernel's shape as for conv2d's: kh kw channels and
// kh kw depth_multiplier.
ValueId build_depthwise_conv2d(LayerCtx& c) {
  need_image(c);
  c.spec.require("kernel_size");
  auto [kh, kw] = read_pair(c.spec, "kernel_size", 0, 0);
  auto [sh, sw] = read_pair(c.spec, "strides", 1, 1);
  int64_t mult = c.spec.get_positive_int("depth_multiplier", 1);
  auto pads = read_pads(c, kh, kw, sh, sw);
  check_window_fits(c, kh, kw, pads);
  int64_t cin = c.in_type().shape[3];
  Shape kernel{kh, kw, cin, mult};
  c.check_param_size("depthwise_kernel", kernel); // before the fans and cin * mult, which must not overflow
  int64_t fan_in = kh * kw * cin, fan_out = kh * kw * mult;
  ValueId w = c.param("depthwise_kernel", kernel,
                      c.initializer("depthwise_initializer", "glorot_uniform", fan_in, fan_out), "depthwise");
  ValueId y = c.op("depthwise_conv2d", {c.in(), w}, {{"strides", std::vector<int64_t>{sh, sw}}, {"pads", pads}});
  if (c.spec.get_bool("use_bias", true))
    y = c.op("bias_add",
             {y, c.param("bias", {cin * mult}, c.initializer("bias_initializer", "zeros", fan_in, fan_out))});
  return c.activation(y);
}

// Keras's Conv2DTranspose: kernel [kh, kw, filters, channels]; "valid": output (h - 1) sh
// + kh (and w alike), "same": h sh. The op is the input gradient of the conv2d that maps
// the output back to the input's size (its padding is that conv2d's "same" padding).
ValueId build_conv2d_transpose(LayerCtx& c) {
  need_image(c);
  int64_t filters = c.spec.require("filters").as_positive_int();
  c.spec.require("kernel_size");
  auto [kh, kw] = read_pair(c.spec, "kernel_size", 0, 0);
  auto [sh, sw] = read_pair(c.spec, "strides", 1, 1);
  const Shape x = c.in_type().shape;
  bool same = false;
  if (auto r = c.spec.get("padding")) {
    std::string p = r->as_string();
    if (p != "valid" && p != "same") {
      std::string hint = did_you_mean(p, {"valid", "same"});
      r->fail("unknown padding '{}'{}", clip(p), hint.empty() ? "; use \"valid\" or \"same\"" : hint);
    }
    same = p == "same";
  }
  int64_t oh = same ? x[1] * sh : (x[1] - 1) * sh + kh, ow = same ? x[2] * sw : (x[2] - 1) * sw + kw;
  std::vector<int64_t> pads = {0, 0, 0, 0};
  if (same) {
    std::tie(pads[0], pads[1]) = same_pads(oh, kh, sh);
    std::tie(pads[2], pads[3]) = same_pads(ow, kw, sw);
  }
  int64_t cin = x[3];
  Shape kernel{kh, kw, filters, cin};
  c.check_param_size("kernel", kernel);
  if (checked_numel(Shape{x[0], oh, ow, filters}) < 0) c.spec.fail("layer '{}' (conv2d_transpose): the output is too large", c.info.name);
  int64_t fan_in = kh * kw * filters, fan_out = kh * kw * cin; // Keras's fans of the kernel's shape
  ValueId k = c.param("kernel", kernel, c.initializer("kernel_initializer", "glorot_uniform", fan_in, fan_out));
  ValueId y = c.op("conv2d_transpose", {c.in(), k},
                   {{"strides", std::vector<int64_t>{sh, sw}}, {"pads", pads},
                    {"output_shape", std::vector<int64_t>{x[0], oh, ow, filters}}});
  if (c.spec.get_bool("use_bias", true))
    y = c.op("bias_add", {y, c.param("bias", {filters}, c.initializer("bias_initializer", "zeros", fan_in, fan_out))});
  return c.activation(y);
}

// The window of a 1-D layer over [batch, steps, channels] (Keras's Conv1D, MaxPooling1D,
// AveragePooling1D): size, stride and the padding at the start and end of the steps.
struct Window1d {
  int64_t size, stride, begin, end;
};

// `size_key` (an integer or [k]), strides, padding: "valid", "same", "causal" (conv1d:
// k - 1 steps before, none after, so step t sees t and earlier only), p or [before, after].
Window1d read_window_1d(LayerCtx& c, const char* size_key, int64_t dflt_size, bool stride_is_size, bool causal_ok) {
  auto one = [&](const char* key, int64_t dflt) {
    auto r = c.spec.get(key);
    if (!r) return dflt;
    std::vector<int64_t> v = r->as_int_list();
    if (v.size() != 1 || v[0] <= 0) r->fail("expected a positive integer, {}", r->describe());
    return v[0];
  };
  Window1d w;
  w.size = one(size_key, dflt_size);
  w.stride = one("strides", stride_is_size ? w.size : 1);
  w.begin = w.end = 0;
  int64_t steps = c.in_type().shape[1];
  if (auto r = c.spec.get("padding")) {
    if (r->is(json::Kind::String)) {
      std::string p = r->as_string();
      std::vector<std::string> known = {"valid", "same"};
      if (causal_ok) known.push_back("causal");
      if (p == "same") std::tie(w.begin, w.end) = same_pads(steps, w.size, w.stride);
      else if (p == "causal" && causal_ok) w.begin = w.size - 1;
      else if (p != "valid") {
        std::string hint = did_you_mean(p, known);
        r->fail("unknown padding '{}'{}", clip(p), hint.empty() ? "; use " + join_names(known) + " or explicit amounts" : hint);
      }
    } else {
      std::vector<int64_t> v = r->as_int_list();
      if (v.size() > 2) r->fail("expected 1 or 2 padding amounts (before, after), got {}", v.size());
      for (int64_t x : v)
        if (x < 0) r->fail("padding must not be negative, got {}", x);
      w.begin = v[0];
      w.end = v.size() == 2 ? v[1] : v[0];
    }
  }
  if (steps + w.begin + w.end < w.size)
    c.spec.fail("layer '{}' ({}): window {} does not fit the {} steps from '{}' (padding {},{})", c.info.name,
                c.info.type, w.size, steps, c.inputs[0].layer, w.begin, w.end);
  return w;
}

// [batch, steps, channels] as the image [batch, 1, steps, channels] and back: a 1-D
// layer is its 2-D counterpart over a height of 1 (reshapes are views: no copy).
ValueId as_image(LayerCtx& c, ValueId x) {
  const Shape s = c.g.type(x).shape;
  return c.op("reshape", {x}, {{"shape", std::vector<int64_t>{s[0], 1, s[1], s[2]}}}, "as_image");
}
ValueId as_sequence(LayerCtx& c, ValueId y) {
  const Shape s = c.g.type(y).shape;
  return c.op("reshape", {y}, {{"shape", std::vector<int64_t>{s[0], s[2], s[3]}}}, "as_sequence");
}

void need_sequence(LayerCtx& c) {
  need_rank(c, 3, "a 3-D input [batch, steps, channels]");
  need_float(c);
}

// Keras's Conv1D: kernel [k, channels, filters]; the convolution is conv2d's with a
// 1 x k window.
ValueId build_conv1d(LayerCtx& c) {
  need_sequence(c);
  int64_t filters = c.spec.require("filters").as_positive_int();
  c.spec.require("kernel_size");
  Window1d w = read_window_1d(c, "kernel_size", 0, false, true);
  int64_t cin = c.in_type().shape[2];
  Shape kernel{w.size, cin, filters};
  c.check_param_size("kernel", kernel);
  int64_t fan_in = w.size * cin, fan_out = w.size * filters;
  ValueId k = c.param("kernel", kernel, c.initializer("kernel_initializer", "glorot_uniform", fan_in, fan_out));
  ValueId k4 = c.op("reshape", {k}, {{"shape", std::vector<int64_t>{1, w.size, cin, filters}}}, "kernel_2d");
  ValueId y = c.op("conv2d", {as_image(c, c.in()), k4},
                   {{"strides", std::vector<int64_t>{1, w.stride}}, {"pads", std::vector<int64_t>{0, 0, w.begin, w.end}}});
  y = as_sequence(c, y);
  if (c.spec.get_bool("use_bias", true))
    y = c.op("bias_add", {y, c.param("bias", {filters}, c.initializer("bias_initializer", "zeros", fan_in, fan_out))});
  return c.activation(y);
}

// Keras's MaxPooling1D / AveragePooling1D (pool_size 2, strides = pool_size).
LayerDef pool1d_layer(const std::string& type, const std::string& op) {
  return {type, {"pool_size", "strides", "padding"}, 1, 1, [op](LayerCtx& c) {
            need_sequence(c);
            Window1d w = read_window_1d(c, "pool_size", 2, true, false);
            if (w.begin >= w.size || w.end >= w.size)
              c.spec.require("padding").fail("layer '{}' ({}): padding {},{} must be smaller than the window {}",
                                             c.info.name, c.info.type, w.begin, w.end, w.size);
            ValueId y = c.op(op, {as_image(c, c.in())},
                             {{"window", std::vector<int64_t>{1, w.size}},
                              {"strides", std::vector<int64_t>{1, w.stride}},
                              {"pads", std::vector<int64_t>{0, 0, w.begin, w.end}}});
            return as_sequence(c, y);
          }};
}

// Keras's UpSampling2D with nearest interpolation: each pixel repeated size_h x size_w
// times, by broadcasts and reshapes (views); its gradient sums each block (broadcast_to's
// rule, reduce_to_shape).
ValueId build_upsampling2d(LayerCtx& c) {
  need_image(c);
  auto [sh, sw] = read_pair(c.spec, "size", 2, 2);
  if (auto r = c.spec.get("interpolation"))
    if (r->as_string() != "nearest")
      r->fail("layer '{}' (upsampling2d): interpolation '{}' is not supported; \"nearest\" is", c.info.name,
              clip(r->as_string()));
  const Shape x = c.in_type().shape;
  if (checked_numel(Shape{x[0], x[1], sh, x[2], sw, x[3]}) < 0)
    c.spec.fail("layer '{}' (upsampling2d): the output is too large", c.info.name);
  // Two broadcasts of one axis each (a broadcast's gradient sums one run of adjacent axes):
  // columns, [n, h, w, 1, c] -> [n, h, w, sw, c]; then rows, [n, h, 1, w*sw*c] -> [n, h, sh, w*sw*c].
  ValueId v = c.op("reshape", {c.in()}, {{"shape", std::vector<int64_t>{x[0], x[1], x[2], 1, x[3]}}}, "columns");
  v = c.op("broadcast_to", {v}, {{"shape", std::vector<int64_t>{x[0], x[1], x[2], sw, x[3]}}}, "repeated_columns");
  v = c.op("reshape", {v}, {{"shape", std::vector<int64_t>{x[0], x[1], 1, x[2] * sw * x[3]}}}, "rows");
  v = c.op("broadcast_to", {v}, {{"shape", std::vector<int64_t>{x[0], x[1], sh, x[2] * sw * x[3]}}}, "repeated_rows");
  return c.op("reshape", {v}, {{"shape", std::vector<int64_t>{x[0], x[1] * sh, x[2] * sw, x[3]}}});
}

// Keras's GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D: the mean or max over the
// time axis of [batch, T, C] or the two spatial axes of [batch, H, W, C], giving
// [batch, C] ([batch, 1, C] / [batch, 1, 1, C] with keepdims).
LayerDef global_pool_layer(const std::string& type, const std::string& op, int rank) {
  return {type, {"keepdims"}, 1, 1, [op, rank](LayerCtx& c) {
            need_rank(c, rank, rank == 3 ? "a 3-D input [batch, time, channels]"
                                         : "a 4-D input [batch, height, width, channels]");
            need_float(c);
            std::vector<int64_t> axes = rank == 3 ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 2};
            return c.op(op, {c.in()}, {{"axes", axes}, {"keepdims", c.spec.get_bool("keepdims", false)}});
          }};
}

LayerDef pool_layer(const std::string& type, const std::string& op) {
  return {type, {"pool_size", "strides", "padding"}, 1, 1, [op](LayerCtx& c) {
            need_image(c);
            auto [kh, kw] = read_pair(c.spec, "pool_size", 2, 2);
            auto [sh, sw] = read_pair(c.spec, "strides", kh, kw);
            auto pads = read_pads(c, kh, kw, sh, sw);
            check_window_fits(c, kh, kw, pads);
            // A window over padding alone would have nothing to pool.
            if (pads[0] >= kh || pads[1] >= kh || pads[2] >= kw || pads[3] >= kw)
              (c.spec.has("padding") ? c.spec.require("padding") : c.spec)
                  .fail("layer '{}' ({}): padding {},{},{},{} must be smaller than the {}x{} window", c.info.name,
                        c.info.type, pads[0], pads[1], pads[2], pads[3], kh, kw);
            return c.op(op, {c.in()},
                        {{"window", std::vector<int64_t>{kh, kw}},
                         {"strides", std::vector<int64_t>{sh, sw}},
                         {"pads", pads}});
          }};
}

// target_shape: the per-sample shape; one extent may be -1 (inferred from the others).
ValueId build_reshape(LayerCtx& c) {
  auto r = c.spec.require("target_shape");
  std::vector<int64_t> target = r.as_int_list();
  int64_t n = c.in_type().shape[0], per_sample = c.in_type().shape.numel() / n;
  std::vector<int64_t> known_dims;
  int64_t infer_at = -1;
  for (size_t i = 0; i < target.size(); i++) {
    if (target[i] == -1 && infer_at < 0) infer_at = int64_t(i);
    else if (target[i] <= 0) r.fail("extents must be positive (one may be -1), {}", r.describe());
    else known_dims.push_back(target[i]);
  }
  int64_t known = checked_numel(Shape(known_dims));
  if (known < 0) r.fail("the target shape has more than {} elements", kMaxElements);
  if (infer_at >= 0 ? per_sample % known != 0 : per_sample != known)
    c.fail_input(0, fmt::format("an input with {} elements per sample to reshape to {}",
                                infer_at >= 0 ? fmt::format("a multiple of {}", known) : std::to_string(known),
                                Shape(target).str()));
  if (infer_at >= 0) target[size_t(infer_at)] = per_sample / known;
  std::vector<int64_t> full = {n};
  full.insert(full.end(), target.begin(), target.end());
  return c.op("reshape", {c.in()}, {{"shape", full}});
}

ValueId build_merge_add(LayerCtx& c) {
  ValueId acc = c.in(0);
  for (size_t i = 1; i < c.inputs.size(); i++) {
    if (c.in_type(i) != c.in_type(0))
      c.spec.fail("layer '{}' (add) needs inputs of one shape, but '{}' gives {} and '{}' gives {}",
                  c.info.name, c.inputs[0].layer, c.in_type(0).str(), c.inputs[i].layer,
                  c.in_type(i).str());
    acc = c.op("add", {acc, c.in(i)}, {}, i == 1 ? "add" : fmt::format("add{}", i));
  }
  return c.activation(acc);
}

ValueId build_concat(LayerCtx& c) {
  auto ar = c.spec.get("axis");
  int64_t axis = ar ? ar->as_int() : -1;
  int rank = c.in_type(0).shape.rank();
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 1 || a >= rank) (ar ? *ar : c.spec).fail("axis {} must name a non-batch axis of rank-{} inputs", axis, rank);
  for (size_t i = 1; i < c.inputs.size(); i++) {
    bool ok = c.in_type(i).shape.rank() == rank;
    for (int d = 0; ok && d < rank; d++) ok = d == a || c.in_type(i).shape[d] == c.in_type(0).shape[d];
    if (!ok)
      c.spec.fail("layer '{}' (concat) cannot join '{}' {} and '{}' {} along axis {}", c.info.name,
                  c.inputs[0].layer, c.in_type(0).str(), c.inputs[i].layer, c.in_type(i).str(), axis);
  }
  std::vector<ValueId> ops;
  for (auto& p : c.inputs) ops.push_back(p.value);
  return c.op("concat", ops, {{"axis", a}});
}

// A training-time noise layer with one amount: "rate" in [0, 1) or "stddev" >= 0. Each
// node draws from its own stream: the index of the node in the graph. spatial_dropout
// keys its draws by sample and channel of an image.
LayerDef noise_layer(const std::string& type, const std::string& op, const std::string& amount) {
  return {type, {amount}, 1, 1, [op, amount](LayerCtx& c) {
            if (op == "spatial_dropout") need_image(c);
            else need_float(c);
            auto r = c.spec.require(amount);
            double v = r.as_number();
            if (amount == "rate" && !(v >= 0 && v < 1)) r.fail("expected a rate in [0, 1), {}", r.describe());
            if (amount == "stddev" && (!(v >= 0) || !std::isfinite(v)))
              r.fail("expected a standard deviation >= 0, {}", r.describe());
            ir::Attrs a{{amount, v}, {"stream", int64_t(c.g.nodes().size())}};
            if (op == "spatial_dropout") {
              const Shape x = c.in_type().shape;
              a.set("channels", x[3]);
              a.set("block", x[1] * x[2] * x[3]);
            }
            return c.op(op, {c.in()}, a);
          }};
}

std::vector<LayerDef> make_layer_table() {
  std::vector<LayerDef> t = {
      {"dense",
       {"units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
        "bias_regularizer", "kernel_constraint", "bias_constraint"},
       1, 1, build_dense},
      {"conv2d",
       {"filters", "kernel_size", "strides", "padding", "activation", "use_bias", "kernel_initializer",
        "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"},
       1, 1, build_conv2d},
      {"depthwise_conv2d",
       {"kernel_size", "strides", "padding", "depth_multiplier", "activation", "use_bias", "depthwise_initializer",
        "bias_initializer", "depthwise_regularizer", "bias_regularizer", "depthwise_constraint", "bias_constraint"},
       1, 1, build_depthwise_conv2d},
      {"conv1d",
       {"filters", "kernel_size", "strides", "padding", "activation", "use_bias", "kernel_initializer",
        "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"},
       1, 1, build_conv1d},
      {"upsampling2d", {"size", "interpolation"}, 1, 1, build_upsampling2d},
      {"conv2d_transpose",
       {"filters", "kernel_size", "strides", "padding", "activation", "use_bias", "kernel_initializer",
        "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"},
       1, 1, build_conv2d_transpose},
      pool1d_layer("max_pool1d", "max_pool2d"),
      pool1d_layer("avg_pool1d", "avg_pool2d"),
      pool_layer("max_pool2d", "max_pool2d"),
      pool_layer("avg_pool2d", "avg_pool2d"),
      global_pool_layer("global_average_pooling2d", "reduce_mean", 4),
      global_pool_layer("global_max_pooling2d", "reduce_max", 4),
      global_pool_layer("global_average_pooling1d", "reduce_mean", 3),
      global_pool_layer("global_max_pooling1d", "reduce_max", 3),
      {"flatten", {}, 1, 1, [](LayerCtx& c) {
         if (c.in_type().shape.rank() < 2) c.fail_input(0, "an input with a batch axis");
         return c.op("flatten", {c.in()});
       }},
      {"reshape", {"target_shape"}, 1, 1, build_reshape},
      {"layer_normalization", {"axis", "epsilon", "center", "scale", "gamma_initializer", "beta_initializer"}, 1, 1,
       build_layer_normalization},
      {"batch_normalization",
       {"axis", "momentum", "epsilon", "center", "scale", "gamma_initializer", "beta_initializer"}, 1, 1,
       build_batch_normalization},
      // Dropout and Keras's GaussianNoise, GaussianDropout and SpatialDropout2D: training-time
      // noise (ir/ops/elementwise.cpp has the formulas).
      noise_layer("dropout", "dropout", "rate"),
      noise_layer("gaussian_noise", "gaussian_noise", "stddev"),
      noise_layer("gaussian_dropout", "gaussian_dropout", "rate"),
      noise_layer("spatial_dropout2d", "spatial_dropout", "rate"),
      {"activation", {"activation"}, 1, 1, [](LayerCtx& c) {
         c.spec.require("activation");
         return c.activation(c.in());
       }},
      {"add", {"activation"}, 2, -1, build_merge_add},
      {"concat", {"axis"}, 2, -1, build_concat},
  };
  for (LayerDef& d : token_layers()) t.push_back(std::move(d));
  for (LayerDef& d : recurrent_layers()) t.push_back(std::move(d));
  for (LayerDef& d : augmentation_layers()) t.push_back(std::move(d));
  // The layers that work on each step of a sequence alone carry its mask (model.cpp
  // checks that the time axis is still there; concat along time is refused that way).
  // batch_normalization is not among them: its batch statistics would count the padding.
  for (LayerDef& d : t)
    for (const char* k : {"dense", "layer_normalization", "dropout", "gaussian_noise", "gaussian_dropout",
                          "activation", "add", "concat", "time_distributed"})
      d.carries_mask = d.carries_mask || d.type == k;
  return t;
}

const std::vector<LayerDef>& layer_table() {
  static const std::vector<LayerDef> t = make_layer_table();
  return t;
}

} // namespace

const LayerDef* find_layer(const std::string& type) {
  for (auto& d : layer_table())
    if (d.type == type) return &d;
  return nullptr;
}

std::vector<std::string> layer_types() {
  std::vector<std::string> n;
  for (auto& d : layer_table()) n.push_back(d.type);
  return n;
}

} // namespace dlc::frontend
