// Loop-body expressions as C++: each element-wise op becomes a call of its function in
// runtime/kernels/scalar.h, the one place its f32 formula is written.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"

#include <cmath>
#include <map>
#include <set>

namespace dlc::codegen::cpp {

std::string float_literal(double v) {
  float f = float(v);
  if (std::isnan(f)) return "std::numeric_limits<float>::quiet_NaN()";
  if (std::isinf(f)) return f > 0 ? "std::numeric_limits<float>::infinity()" : "-std::numeric_limits<float>::infinity()";
  std::string s = fmt::format("{:.9g}", f);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

std::string double_literal(double v) {
  std::string s = fmt::format("{:.17g}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

namespace {

const std::set<std::string> kUnary = {"sigmoid", "tanh", "relu", "softplus", "exp", "log",
                                      "neg",     "sqrt", "square", "abs", "sign"};
const std::set<std::string> kBinary = {"add",          "sub",      "mul",       "div",      "maximum",
                                       "minimum",      "bias_add", "prelu",     "relu_grad", "sigmoid_grad",
                                       "tanh_grad"};

std::string call(const std::string& fn, const std::vector<std::string>& args) {
  std::string s = "dlc_rt::scalar::" + fn + "(";
  for (size_t i = 0; i < args.size(); i++) s += (i ? ", " : "") + args[i];
  return s + ")";
}

std::string fattr(const ScalarExpr& e, const char* name, double dflt = 0.0) {
  return float_literal(e.attrs.get_float(name, dflt));
}
std::string dattr(const ScalarExpr& e, const char* name) { return double_literal(e.attrs.get_float(name)); }

// An optimizer update: slots are copied into variables the update replaces in place.
void emit_update(const ScalarExpr& e, const std::string& var, const std::vector<std::string>& a,
                 std::vector<std::string>& lines, LoopInvariants* hoist) {
  const UpdateShape& sh = *update_shape(e.op_name);
  size_t fixed = 2 + sh.slots + sh.scalars;
  std::string p = a[0], lr = a[2 + sh.slots];
  std::string scale = a.size() > fixed ? a[fixed] : "1.0f";
  std::string g = var + "_g";
  lines.push_back(fmt::format("const float {} = dlc_rt::scalar::prepare_grad({}, {}, {}, {}, {});", g, a[1], scale,
                              fattr(e, "clip_value"), fattr(e, "weight_decay"), p));
  std::vector<std::string> slot;
  for (size_t k = 0; k < sh.slots; k++) {
    slot.push_back(fmt::format("{}_s{}", var, k + 1));
    lines.push_back(fmt::format("float {} = {};", slot.back(), a[2 + k]));
  }
  std::vector<std::string> args = {p, g};
  args.insert(args.end(), slot.begin(), slot.end());
  args.push_back(lr);
  const std::string& op = e.op_name;
  if (op == "momentum_update") args.insert(args.end(), {fattr(e, "momentum"), e.attrs.get_bool("nesterov", false) ? "true" : "false"});
  if (op == "adagrad_update") args.push_back(fattr(e, "epsilon"));
  if (op == "rmsprop_update" || op == "adadelta_update") args.insert(args.end(), {dattr(e, "rho"), fattr(e, "epsilon")});
  const std::string& step = a.size() > 3 + sh.slots ? a[3 + sh.slots] : p;
  auto inv = hoist ? hoist->invariant.find(step) : std::map<std::string, std::string>::iterator{};
  if (op == "adam_update" && hoist && inv != hoist->invariant.end()) {
    // The bias corrections once per loop, from the step read before it.
    hoist->before.push_back(fmt::format("const dlc_rt::scalar::AdamCorrection {}_bc = dlc_rt::scalar::adam_correction({}, {}, {});",
                                        var, dattr(e, "beta1"), dattr(e, "beta2"), inv->second));
    args.insert(args.end(), {var + "_bc", dattr(e, "beta1"), dattr(e, "beta2"), fattr(e, "epsilon")});
  } else if (op == "adam_update" || op == "nadam_update") {
    args.push_back(step);
    if (op == "nadam_update") args.push_back(a[4 + sh.slots]); // mu_product
    args.insert(args.end(), {dattr(e, "beta1"), dattr(e, "beta2"), fattr(e, "epsilon")});
    if (op == "nadam_update") args.push_back(dattr(e, "momentum_decay"));
  }
  std::string value = call(op, args);
  double decoupled = e.attrs.get_float("decoupled_weight_decay", 0.0);
  if (decoupled != 0)
    value = fmt::format("dlc_rt::scalar::decoupled_decay({}, {}, {}, {})", value, p, lr, float_literal(decoupled));
  lines.push_back(fmt::format("const float {} = {};", var, value));
}

} // namespace

size_t update_slots(const std::string& op) {
  const UpdateShape* sh = update_shape(op);
  return sh ? sh->slots : 0;
}

void emit_scalar_op(const ScalarExpr& e, const std::string& var, const std::vector<std::string>& a,
                    std::vector<std::string>& lines, LoopInvariants* hoist) {
  const std::string& op = e.op_name;
  auto define = [&](const std::string& value) { lines.push_back(fmt::format("const float {} = {};", var, value)); };
  if (update_shape(op)) return emit_update(e, var, a, lines, hoist);
  if (kUnary.count(op)) return define(call(op, {a[0]}));
  if (kBinary.count(op)) return define(call(op, {a[0], a[1]}));
  if (op == "leaky_relu") return define(call(op, {a[0], fattr(e, "alpha")}));
  if (op == "leaky_relu_grad") return define(call(op, {a[0], a[1], fattr(e, "alpha")}));
  if (op == "scale") return define(call(op, {a[0], fattr(e, "scale"), fattr(e, "offset")}));
  if (op == "prelu_grad_input") return define(call(op, {a[0], a[1], a[2]}));
  if (op == "maximum_grad" || op == "minimum_grad")
    return define(call(op, {a[0], a[1], a[2], std::to_string(e.attrs.get_int("operand"))}));
  if (op == "dropout")
    return define(call(op, {a[0], dattr(e, "rate"), fmt::format("uint64_t({})", e.attrs.get_int("stream")), "m.seed",
                            "m.step", "m.training", "i"}));
  if (op == "nadam_mu_product")
    return define(call(op, {a[0], a[1], dattr(e, "beta1"), dattr(e, "momentum_decay")}));
  throw Error(fmt::format("C++ backend: no scalar form for element-wise op '{}'", op));
}

} // namespace dlc::codegen::cpp
