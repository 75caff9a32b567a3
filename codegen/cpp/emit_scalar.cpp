// Exact literals in emitted C++: the shortest decimal that reads back as the same float
// (or double), so that 0.1f is written 0.1f rather than 0.100000001f.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"

#include <cmath>

namespace dlc::codegen::cpp {

std::string float_literal(double v) {
  float f = float(v);
  if (std::isnan(f)) return "std::numeric_limits<float>::quiet_NaN()";
  if (std::isinf(f)) return f > 0 ? "std::numeric_limits<float>::infinity()" : "-std::numeric_limits<float>::infinity()";
  std::string s = fmt::format("{}", f);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

std::string double_literal(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

} // namespace dlc::codegen::cpp
