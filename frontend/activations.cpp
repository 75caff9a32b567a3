// Activations, named in a layer's "activation" member or used as an "activation" layer:
// a name ("relu") or an object with parameters ({"type": "leaky_relu", "alpha": 0.1}).
#include "frontend/layers.h"

#include <algorithm>
#include <map>

namespace dlc::frontend {

namespace {

// Activations with a meaning of their own here (a parameter, a layer-level op, an axis);
// every op the table marks as an activation (ir::OpDef::activation) is accepted by its
// name too, its attributes as the activation's parameters.
const std::vector<std::string> kSpecial = {"linear", "leaky_relu", "prelu", "maxout", "softmax", "log_softmax"};

// Keras's other names for ops of the table.
const std::map<std::string, std::string> kAliases = {{"swish", "silu"}};

} // namespace

std::string activation_op(const std::string& activation) {
  auto it = kAliases.find(activation);
  return it == kAliases.end() ? activation : it->second;
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names = kSpecial;
  for (const std::string& op : ir::op_names())
    if (ir::get_op(op).activation && std::find(names.begin(), names.end(), op) == names.end()) names.push_back(op);
  for (const auto& [alias, op] : kAliases) names.push_back(alias);
  return names;
}

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
    if (const ir::OpDef* op = ir::find_op(activation_op(type)); op && op->activation && op->scalar && type != "leaky_relu")
      for (const ir::ScalarAttr& a : op->scalar->attrs) keys.push_back(a.name);
    spec.expect_only(keys, "activation '" + type + "'");
  } else if (spec.is(json::Kind::String)) {
    type = spec.as_string();
  } else {
    spec.fail("expected an activation name or object, {}", spec.describe());
  }
  std::vector<std::string> known_names = activation_names();
  if (std::find(known_names.begin(), known_names.end(), type) == known_names.end()) {
    std::string hint = did_you_mean(type, known_names);
    type_ref->fail("unknown activation '{}'{}", clip(type),
                   hint.empty() ? "; known: " + join_names(known_names) : hint);
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
  // An activation of the op table: its parameters are the op's attributes (defaults unless given).
  const ir::OpDef& op = ir::get_op(activation_op(type));
  ir::Attrs attrs;
  for (const ir::ScalarAttr& a : op.scalar ? op.scalar->attrs : std::vector<ir::ScalarAttr>{}) {
    std::optional<JsonRef> v = spec.is(json::Kind::Object) ? spec.get(a.name) : std::nullopt;
    if (a.type == ir::ScalarType::i64) attrs.set(a.name, v ? (v->is(json::Kind::Bool) ? int64_t(v->as_bool()) : v->as_int()) : int64_t(a.dflt));
    else attrs.set(a.name, v ? v->as_number() : a.dflt);
  }
  return c.op(op.name, {x}, attrs);
}

} // namespace dlc::frontend
