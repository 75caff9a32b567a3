// The verdict of a gradient check (passes/gradcheck.h) in a test: every checked value's
// analytic gradient within `tolerance` of the finite differences, and something checked.
#pragma once

#include "passes/gradcheck.h"

#include <doctest/doctest.h>

namespace dlc {

inline void check_gradients_agree(const passes::GradCheckResult& r, double tolerance = 1e-4) {
  for (auto& v : r.values) {
    INFO(v.name, ": worst ", v.worst, " (analytic ", v.analytic, ", numeric ", v.numeric, ")");
    CHECK(v.worst <= tolerance);
    CHECK(v.checked > 0);
  }
}

} // namespace dlc
