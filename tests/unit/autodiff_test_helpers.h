// Helpers for the gradient tests: a small graph whose float operands are bound inputs with
// random (or given) values, reduced to a scalar loss sum(y * R) with a random R so that
// every output element gets a different upstream gradient; then the analytic gradients
// of passes/autodiff are compared with central differences (passes/gradcheck.h).
#pragma once

#include "ir/graph.h"
#include "ir/interp/interpreter.h"
#include "passes/autodiff.h"
#include "passes/gradcheck.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

namespace dlc::testing {

using ir::Shape;
using ir::Tensor;
using ir::ValueId;

inline ir::TensorType f32t(Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

// N(0, 1) values; with `margin` > 0, values are pushed at least `margin` away from 0 (so
// that a kink at 0 lies far outside the finite-difference step).
inline std::vector<double> randn(int64_t n, uint64_t stream, double margin = 0) {
  auto v = std::vector<double>(size_t(n));
  for (int64_t i = 0; i < n; i++) {
    double x = dlc_rt::rng_normal(7, stream, uint64_t(i));
    if (margin > 0 && std::fabs(x) < margin) x = x < 0 ? x - margin : x + margin;
    v[size_t(i)] = x;
  }
  return v;
}

struct GradCase {
  ir::Graph g;
  ir::Bindings b;
  std::vector<ValueId> wrt;

  // A float input with the given values (random when empty), differentiated by default.
  ValueId input(const std::string& name, Shape s, std::vector<double> values = {}, bool diff = true) {
    ValueId v = g.add_input(name, f32t(s));
    if (values.empty()) values = randn(s.numel(), dlc_rt::name_hash(name.c_str()));
    REQUIRE(int64_t(values.size()) == s.numel());
    b[name] = Tensor(f32t(s), values);
    if (diff) wrt.push_back(v);
    return v;
  }
  ValueId labels(const std::string& name, Shape s, std::vector<double> values) {
    ir::TensorType t{ir::DType::i32, std::move(s)};
    ValueId v = g.add_input(name, t);
    b[name] = Tensor(t, values);
    return v;
  }

  // loss = sum(y * R), R random: y's gradient is R.
  ValueId weighted_sum(ValueId y) {
    const Shape& s = g.type(y).shape;
    std::vector<double> r = randn(s.numel(), 99);
    ValueId rw = g.add_constant("R", f32t(s), std::vector<float>(r.begin(), r.end()));
    return g.add("reduce_sum", {g.add("mul", {y, rw})});
  }

  passes::GradCheckResult check(ValueId loss, double eps = 1e-5, double tol = 1e-6) {
    passes::GradCheckOptions opt;
    opt.eps = eps;
    opt.tol = tol;
    opt.max_entries = 1000;
    return passes::check_gradients(g, loss, wrt, b, opt);
  }

  // Checks loss = sum(y * R) (or y itself when it is a scalar) and expects every entry
  // of every wrt value to match, none skipped.
  void expect_match(ValueId y, double eps = 1e-5, double tol = 1e-6) {
    ValueId loss = g.type(y).shape.rank() == 0 ? y : weighted_sum(y);
    passes::GradCheckResult r = check(loss, eps, tol);
    for (auto& v : r.values) {
      INFO("value ", v.name, ": worst relative error ", v.worst, " at ", v.worst_index, " (analytic ",
           v.analytic, ", numeric ", v.numeric, ")");
      CHECK(v.worst <= tol);
      CHECK(v.skipped == 0);
      CHECK(v.checked == v.type.shape.numel());
    }
  }

  // The analytic gradients of `loss` w.r.t. wrt, evaluated in double precision.
  std::vector<Tensor> gradients(ValueId loss) {
    ir::Graph gg = g;
    std::vector<ValueId> grads = passes::differentiate(gg, loss, wrt);
    auto env = ir::evaluate(gg, b, ir::EvalContext{true, ir::Precision::f64, 0, 0});
    std::vector<Tensor> out;
    for (ValueId d : grads) out.push_back(d == ir::kNoValue ? Tensor() : env[size_t(d)]);
    return out;
  }
};

} // namespace dlc::testing
