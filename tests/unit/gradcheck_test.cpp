// The gradient checker itself: it passes correct gradients on whole models, catches a
// wrong rule, skips entries at a kink instead of failing them, samples large values and
// keeps to its budget.
#include "autodiff_test_helpers.h"
#include "frontend/model.h"
#include "passes/autodiff/grad_rule.h"

using namespace dlc;
using namespace dlc::testing;

namespace {

passes::GradCheckResult check_model(const std::string& json, int64_t batch, int64_t entries = 8) {
  frontend::Model m = frontend::load_model_text(json, "model.json");
  passes::GradCheckOptions opt;
  opt.max_entries = entries;
  return passes::check_model_gradients(frontend::build_model(m, batch).graph, m.training, opt);
}

void expect_all_pass(const passes::GradCheckResult& r, double tol = 1e-4) {
  for (auto& v : r.values) {
    INFO(v.name, ": worst ", v.worst, " at ", v.worst_index, " (analytic ", v.analytic, ", numeric ", v.numeric, ")");
    CHECK(v.worst <= tol);
    CHECK(v.checked > 0);
  }
}

} // namespace

TEST_CASE("gradcheck: the X/O example model passes") {
  std::string text = R"({"input_shape": [9, 9, 1], "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
    {"type": "max_pool2d", "pool_size": 2}, {"type": "flatten"},
    {"type": "dense", "units": 2, "activation": "softmax"}], "loss": "categorical_crossentropy"})";
  passes::GradCheckResult r = check_model(text, 2);
  REQUIRE(r.values.size() == 4);
  CHECK(r.values[0].name == "conv2d_1.kernel");
  CHECK(r.values[0].checked + r.values[0].skipped == 8); // 8 of its 36 entries sampled
  expect_all_pass(r);
}

TEST_CASE("gradcheck: a graph-form model with every trainable activation and layer passes") {
  std::string text = R"({
    "inputs": [{"name": "img", "shape": [6, 6, 2]}, {"name": "vec", "shape": [5]}],
    "outputs": ["out"],
    "layers": [
      {"type": "conv2d", "name": "c1", "inputs": "img", "filters": 4, "kernel_size": 3, "strides": 2,
       "padding": "same", "activation": {"type": "prelu"}},
      {"type": "avg_pool2d", "name": "p1", "inputs": "c1", "pool_size": 2, "strides": 1},
      {"type": "flatten", "name": "f1", "inputs": "p1"},
      {"type": "dense", "name": "d1", "inputs": "vec", "units": 6, "activation": {"type": "maxout", "k": 2}},
      {"type": "dense", "name": "d2", "inputs": "vec", "units": 3, "activation": "softplus"},
      {"type": "concat", "name": "cat", "inputs": ["f1", "d1", "d2"]},
      {"type": "dropout", "name": "drop", "inputs": "cat", "rate": 0.25},
      {"type": "dense", "name": "h", "inputs": "drop", "units": 5, "activation": {"type": "leaky_relu", "alpha": 0.2}},
      {"type": "dense", "name": "out", "inputs": "h", "units": 3, "activation": "log_softmax"}],
    "loss": "categorical_crossentropy"})";
  passes::GradCheckResult r = check_model(text, 3, 12);
  CHECK(r.values.size() == 11); // c1 kernel, bias, slope; d1, d2, h, out kernel and bias
  expect_all_pass(r);
}

TEST_CASE("gradcheck: a wrong gradient rule is caught") {
  const passes::autodiff::GradFn right = *passes::autodiff::find_grad("tanh");
  // d tanh(x) = dy, forgetting the factor 1 - y^2.
  passes::autodiff::register_grad("tanh", [](passes::autodiff::GradCtx& c) {
    return std::vector<ir::ValueId>{c.emit("scale", {c.dy0()}, {{"scale", 1.0}})};
  });
  GradCase c;
  ValueId x = c.input("x", {2, 3});
  passes::GradCheckResult r = c.check(c.weighted_sum(c.g.add("tanh", {x})));
  passes::autodiff::register_grad("tanh", right);
  REQUIRE(r.first_failure(1e-4) != nullptr);
  CHECK(r.first_failure(1e-4)->name == "x");
  CHECK(r.worst() > 0.01);
}

TEST_CASE("gradcheck: an entry at a kink is skipped, not failed") {
  GradCase c;
  ValueId x = c.input("x", {4}, {0.5, 0.0, -0.7, 1.2}); // relu's kink at entry 1
  passes::GradCheckResult r = c.check(c.weighted_sum(c.g.add("relu", {x})));
  REQUIRE(r.values.size() == 1);
  CHECK(r.values[0].skipped == 1);
  CHECK(r.values[0].checked == 3);
  CHECK(r.first_failure(1e-6) == nullptr);
}

TEST_CASE("gradcheck: large values are sampled; the budget bounds the probes") {
  GradCase c;
  ValueId x = c.input("x", {50, 40});
  ValueId loss = c.weighted_sum(c.g.add("sigmoid", {x}));
  passes::GradCheckOptions opt;
  opt.max_entries = 30;
  passes::GradCheckResult sampled = passes::check_gradients(c.g, loss, c.wrt, c.b, opt);
  CHECK(sampled.values[0].checked == 30);
  CHECK(sampled.values[0].over_budget == 0);
  opt.budget = 0;
  passes::GradCheckResult none = passes::check_gradients(c.g, loss, c.wrt, c.b, opt);
  CHECK(none.values[0].checked == 0);
  CHECK(none.values[0].over_budget == 30);
  CHECK(none.first_failure(1e-4) == nullptr);
}
