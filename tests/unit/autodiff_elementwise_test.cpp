// Gradient checks of the element-wise ops: activations, broadcasting arithmetic,
// bias_add, prelu (input and slope), dropout. Each compares the analytic gradient with
// central differences in double precision, on every entry.
#include "autodiff_test_helpers.h"

using namespace dlc;
using namespace dlc::testing;

TEST_CASE("autodiff: smooth unary ops match finite differences") {
  for (const char* op : {"sigmoid", "tanh", "softplus", "exp", "neg", "square"}) {
    CAPTURE(op);
    GradCase c;
    ValueId x = c.input("x", {3, 4});
    c.expect_match(c.g.add(op, {x}));
  }
}

TEST_CASE("autodiff: log and sqrt on positive inputs") {
  for (const char* op : {"log", "sqrt"}) {
    CAPTURE(op);
    GradCase c;
    std::vector<double> v = randn(12, 3);
    for (double& e : v) e = std::fabs(e) + 0.5;
    c.expect_match(c.g.add(op, {c.input("x", {3, 4}, v)}));
  }
}

TEST_CASE("autodiff: kinked unary ops away from their kinks") {
  GradCase c;
  ValueId x = c.input("x", {4, 5}, randn(20, 5, 0.1));
  SUBCASE("relu") { c.expect_match(c.g.add("relu", {x})); }
  SUBCASE("leaky_relu") { c.expect_match(c.g.add("leaky_relu", {x}, {{"alpha", 0.2}})); }
  SUBCASE("leaky_relu with a negative slope") { c.expect_match(c.g.add("leaky_relu", {x}, {{"alpha", -0.5}})); }
  SUBCASE("abs") { c.expect_match(c.g.add("abs", {x})); }
  SUBCASE("sign has a zero gradient") { c.expect_match(c.g.add("sign", {x})); }
  SUBCASE("scale") { c.expect_match(c.g.add("scale", {x}, {{"scale", -2.5}, {"offset", 3.0}})); }
}

TEST_CASE("autodiff: relu'(0) = 0 and leaky_relu'(0) = alpha (the left derivative)") {
  GradCase c;
  ValueId x = c.input("x", {3}, {-1.0, 0.0, 2.0});
  ValueId r = c.g.add("relu", {x});
  ValueId l = c.g.add("leaky_relu", {x}, {{"alpha", 0.1}});
  ValueId loss = c.g.add("reduce_sum", {c.g.add("add", {r, l})});
  Tensor d = c.gradients(loss)[0];
  CHECK(d[0] == doctest::Approx(0.1));
  CHECK(d[1] == doctest::Approx(0.1)); // relu contributes 0, leaky_relu alpha
  CHECK(d[2] == doctest::Approx(2.0));
}

TEST_CASE("autodiff: broadcasting binary ops reduce the gradient to each operand's shape") {
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{2, 3}, {}}, {{4, 1, 3}, {2, 1}}};
  for (const char* op : {"add", "sub", "mul", "div", "maximum", "minimum"})
    for (auto& [sa, sb] : shapes) {
      CAPTURE(op);
      CAPTURE(sa.str());
      CAPTURE(sb.str());
      GradCase c;
      ValueId a = c.input("a", sa);
      std::vector<double> bv = randn(sb.numel(), 11, 0.5); // away from 0 for div
      ValueId b = c.input("b", sb, bv);
      c.expect_match(c.g.add(op, {a, b}));
    }
}

TEST_CASE("autodiff: maximum and minimum send a tie's gradient to operand 0") {
  for (const char* op : {"maximum", "minimum"}) {
    GradCase c;
    ValueId a = c.input("a", {2}, {1.0, 3.0});
    ValueId b = c.input("b", {2}, {1.0, 2.0});
    auto d = c.gradients(c.g.add("reduce_sum", {c.g.add(op, {a, b})}));
    CHECK(d[0][0] == 1.0);
    CHECK(d[1][0] == 0.0);
    bool is_max = std::string(op) == "maximum";
    CHECK(d[0][1] == (is_max ? 1.0 : 0.0));
    CHECK(d[1][1] == (is_max ? 0.0 : 1.0));
  }
}

TEST_CASE("autodiff: bias_add sums the gradient over all axes but the last") {
  for (Shape xs : {Shape{5}, Shape{3, 4}, Shape{2, 3, 3, 4}}) {
    CAPTURE(xs.str());
    GradCase c;
    ValueId x = c.input("x", xs);
    ValueId b = c.input("b", {xs[xs.rank() - 1]});
    c.expect_match(c.g.add("bias_add", {x, b}));
  }
}

TEST_CASE("autodiff: prelu differentiates in x and in the per-channel slope") {
  for (Shape xs : {Shape{3, 4}, Shape{2, 3, 2, 4}}) {
    CAPTURE(xs.str());
    GradCase c;
    ValueId x = c.input("x", xs, randn(xs.numel(), 21, 0.1));
    ValueId s = c.input("slope", {4}, {0.25, -0.5, 1.5, 0.0});
    c.expect_match(c.g.add("prelu", {x, s}));
  }
}

TEST_CASE("autodiff: dropout's gradient uses the forward mask") {
  GradCase c;
  ValueId x = c.input("x", {8, 16});
  ValueId y = c.g.add("dropout", {x}, {{"rate", 0.5}, {"stream", int64_t(3)}});
  c.expect_match(y); // the check evaluates in training mode at one step: one mask

  // d x = R * mask / (1 - rate): zero exactly where the forward output was dropped.
  GradCase d;
  std::vector<double> ones(128, 1.0);
  ValueId x1 = d.input("x", {8, 16}, ones);
  ValueId y1 = d.g.add("dropout", {x1}, {{"rate", 0.5}, {"stream", int64_t(3)}});
  Tensor grad = d.gradients(d.g.add("reduce_sum", {y1}))[0];
  auto env = ir::evaluate(d.g, d.b, ir::EvalContext{true, ir::Precision::f64, 0, 0});
  int kept = 0;
  for (int64_t i = 0; i < 128; i++) {
    CHECK(grad[i] == env[size_t(y1)][i]); // both 2 where kept, 0 where dropped
    kept += grad[i] != 0;
  }
  CHECK(kept > 40);
  CHECK(kept < 90);
}
