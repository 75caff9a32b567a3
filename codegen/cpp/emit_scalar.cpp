// Loop-body expressions as C++: each element-wise op becomes a call of its function in
// runtime/kernels/scalar.h, the one place its f32 formula is written, with the arguments
// its ScalarForm in the op table lists.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"

#include <cmath>

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

void emit_scalar_op(const ScalarExpr& e, const std::string& var, const std::vector<std::string>& operands,
                    std::vector<std::string>& lines) {
  std::string call = "dlc_scalar_" + e.op_name + "(";
  int slots = 0;
  for (const ScalarArg& a : scalar_arguments(e)) {
    if (call.back() != '(') call += ", ";
    switch (a.kind) {
    case ScalarArg::operand: call += operands[size_t(a.arg)]; break;
    case ScalarArg::slot: { // a variable the formula replaces in place: var_s1...
      std::string slot = fmt::format("{}_s{}", var, ++slots);
      lines.push_back(fmt::format("float {} = {};", slot, operands[size_t(a.arg)]));
      call += slot;
      break;
    }
    case ScalarArg::constant:
      call += a.type == ir::ScalarType::f32   ? float_literal(a.value)
              : a.type == ir::ScalarType::f64 ? double_literal(a.value)
                                              : fmt::format("int64_t({})", int64_t(a.value));
      break;
    case ScalarArg::seed: call += "m.seed"; break;
    case ScalarArg::step: call += "m.step"; break;
    case ScalarArg::training: call += "m.training"; break;
    case ScalarArg::index: call += "i"; break;
    }
  }
  lines.push_back(fmt::format("const float {} = {});", var, call));
}

} // namespace dlc::codegen::cpp
