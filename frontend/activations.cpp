// Activations, named in a layer's "activation" member or used as an "activation" layer:
// a name ("relu") or an object with parameters ({"type": "leaky_relu", "alpha": 0.1}).
#include "frontend/layers.h"

namespace dlc::frontend {

namespace {
const std::vector<std::string> kActivations = {"linear",  "sigmoid", "tanh",       "relu",
                                               "leaky_relu", "prelu", "softplus", "maxout",
                                               "softmax", "log_softmax"};
}

std::vector<std::string> activation_names() { return kActivations; }

ir::ValueId apply_activation(LayerCtx& c, ir::ValueId x, const JsonRef& spec) {
  std::string type;
  std::optional<JsonRef> type_ref = spec;
  if (spec.is(json::Kind::Object)) {
    type_ref = spec.require("type");
    type = type_ref->as_string();
    std::vector<std::string> keys = {"type"};
    if (type == "leaky_relu") keys.push_back("alpha");
    if (type == "maxout") keys.push_back("k");
    if (type == "prelu") keys.push_back("initial_slope");
    spec.expect_only(keys, "activation '" + type + "'");
  } else if (spec.is(json::Kind::String)) {
    type = spec.as_string();
  } else {
    spec.fail("expected an activation name or object, {}", spec.describe());
  }
  bool known = false;
  for (auto& a : kActivations) known |= a == type;
  if (!known) {
    std::string hint = did_you_mean(type, kActivations);
    type_ref->fail("unknown activation '{}'{}", clip(type),
                   hint.empty() ? "; known: " + join_names(kActivations) : hint);
  }
  c.info.activation = type;
  if (type == "linear") return x;
  const ir::TensorType t = c.g.type(x); // a copy: adding the slope may move the values
  if (!ir::is_float(t.dtype)) c.fail_input(0, "a float input for activation '" + type + "'");
  if (type == "leaky_relu") {
    double alpha = 0.01; // PyTorch's default negative slope
    if (auto a = spec.is(json::Kind::Object) ? spec.get("alpha") : std::nullopt) alpha = a->as_number();
    return c.op("leaky_relu", {x}, {{"alpha", alpha}});
  }
  if (type == "prelu") {
    // One learned slope per channel (the last axis), initialised to 0.25 as in He et al.
    double init = 0.25;
    if (auto a = spec.is(json::Kind::Object) ? spec.get("initial_slope") : std::nullopt) init = a->as_number();
    ir::Initializer in;
    in.kind = "constant";
    in.value = init;
    in.has_value = true;
    int64_t ch = t.shape[t.shape.rank() - 1];
    return c.op("prelu", {x, c.param("slope", {ch}, in)});
  }
  if (type == "maxout") {
    int64_t k = 2;
    if (auto a = spec.is(json::Kind::Object) ? spec.get("k") : std::nullopt) k = a->as_positive_int();
    int64_t last = t.shape[t.shape.rank() - 1];
    if (last % k != 0)
      (spec.is(json::Kind::Object) ? spec : *type_ref)
          .fail("layer '{}': maxout group size {} does not divide its {} units", c.info.name, k, last);
    return c.op("maxout", {x}, {{"k", k}});
  }
  if (type == "softmax" || type == "log_softmax") return c.op(type, {x}, {{"axis", int64_t(-1)}});
  return c.op(type, {x});
}

} // namespace dlc::frontend
