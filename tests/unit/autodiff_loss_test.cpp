// Gradient checks of the losses w.r.t. predictions and logits, including extreme logits,
// and logistic regression's gradient against its closed form.
#include "autodiff_test_helpers.h"
#include "frontend/model.h"
#include "passes/training.h"

#include <limits>

using namespace dlc;
using namespace dlc::testing;

namespace {
std::vector<double> one_hot_rows(const std::vector<int>& labels, int classes) {
  std::vector<double> v(labels.size() * size_t(classes), 0.0);
  for (size_t r = 0; r < labels.size(); r++) v[r * size_t(classes) + size_t(labels[r])] = 1;
  return v;
}
} // namespace

TEST_CASE("autodiff: losses match finite differences w.r.t. the prediction") {
  SUBCASE("mse") {
    GradCase c;
    ValueId p = c.input("p", {3, 4});
    c.expect_match(c.g.add("mse", {p, c.input("y", {3, 4}, {}, false)}));
  }
  SUBCASE("softmax cross-entropy, one-hot and unnormalised soft targets") {
    for (auto y : {one_hot_rows({2, 0, 3}, 4), std::vector<double>{0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5}}) {
      GradCase c;
      ValueId z = c.input("z", {3, 4});
      c.expect_match(c.g.add("softmax_cross_entropy", {z, c.input("y", {3, 4}, y, false)}));
    }
  }
  SUBCASE("sparse softmax cross-entropy") {
    GradCase c;
    ValueId z = c.input("z", {3, 4});
    c.expect_match(c.g.add("sparse_softmax_cross_entropy", {z, c.labels("y", {3}, {2, 0, 3})}));
  }
  SUBCASE("binary cross-entropy of probabilities") {
    GradCase c;
    std::vector<double> p = {0.1, 0.5, 0.9, 0.3, 0.7, 0.05};
    c.expect_match(c.g.add("binary_cross_entropy", {c.input("p", {3, 2}, p), c.input("y", {3, 2}, {1, 0, 1, 1, 0, 0}, false)}));
  }
  SUBCASE("sigmoid binary cross-entropy of logits") {
    GradCase c;
    ValueId z = c.input("z", {3, 2});
    c.expect_match(c.g.add("sigmoid_binary_cross_entropy", {z, c.input("y", {3, 2}, {1, 0, 0.3, 1, 0, 0.5}, false)}));
  }
}

TEST_CASE("autodiff: softmax cross-entropy stays exact at extreme logits") {
  GradCase c;
  ValueId z = c.input("z", {2, 3}, {1000, -1000, 0, -1e4, 1e4, 1e4});
  ValueId y = c.input("y", {2, 3}, one_hot_rows({1, 2}, 3), false);
  ValueId loss = c.g.add("softmax_cross_entropy", {z, y});
  Tensor d = c.gradients(loss)[0];
  // (softmax(z) - y) / n with softmax rows [1, 0, 0] and [0, 1/2, 1/2].
  std::vector<double> want = {0.5, -0.5, 0, 0, 0.25, -0.25};
  for (int i = 0; i < 6; i++) CHECK(d[i] == doctest::Approx(want[size_t(i)]).epsilon(1e-12));
  auto env = ir::evaluate(c.g, c.b, ir::EvalContext{true, ir::Precision::f64, 0, 0});
  CHECK(env[size_t(loss)][0] == doctest::Approx((2000 + std::log(2.0)) / 2));
}

TEST_CASE("autodiff: sigmoid binary cross-entropy at extreme logits; clamped probabilities get 0") {
  GradCase c;
  ValueId z = c.input("z", {1, 4}, {800, -800, 800, -800});
  ValueId p = c.input("p", {1, 4}, {0.0, 1.0, 1e-9, 0.5});
  ValueId y = c.input("y", {1, 4}, {1, 1, 0, 0}, false);
  ValueId l1 = c.g.add("sigmoid_binary_cross_entropy", {z, y});
  ValueId l2 = c.g.add("binary_cross_entropy", {p, y});
  auto d = c.gradients(c.g.add("add", {l1, l2}));
  CHECK(d[0].data == std::vector<double>{0, -0.25, 0.25, 0});     // (σ(z) - y) / 4
  CHECK(d[1].data == std::vector<double>{0, 0, 0, 0.5});           // (p - y) / (p (1 - p)) / 4
}

TEST_CASE("autodiff: logistic regression's gradient is x^T (softmax(x W) - onehot(y)) / n") {
  frontend::Model m = frontend::load_model_text(R"({
    "input_shape": [3],
    "layers": [{"type": "dense", "units": 4, "activation": "softmax", "use_bias": false}],
    "loss": "sparse_categorical_crossentropy"})", "logreg.json");
  passes::TrainingGraph tg = passes::build_loss_graph(frontend::build_model(m, 5).graph, m.training);
  const ir::Graph& g = tg.graph;
  ValueId w = g.find("dense_1.kernel");
  REQUIRE(w != ir::kNoValue);
  GradCase c;
  c.g = g;
  c.wrt = {w};
  std::vector<double> xs = randn(15, 1), ws = randn(12, 2);
  std::vector<int> labels = {0, 3, 1, 1, 2};
  c.b["input"] = Tensor(g.type(g.find("input")), xs);
  c.b["dense_1.kernel"] = Tensor(g.type(w), ws);
  c.b["target"] = Tensor(g.type(tg.targets.at(0)), std::vector<double>(labels.begin(), labels.end()));
  Tensor d = c.gradients(tg.loss)[0];

  std::vector<double> want(12, 0.0);
  for (int n = 0; n < 5; n++) {
    double z[4], s = 0;
    for (int k = 0; k < 4; k++) {
      z[k] = 0;
      for (int j = 0; j < 3; j++) z[k] += xs[size_t(n * 3 + j)] * ws[size_t(j * 4 + k)];
      s += std::exp(z[k]);
    }
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        want[size_t(j * 4 + k)] += xs[size_t(n * 3 + j)] * (std::exp(z[k]) / s - (k == labels[size_t(n)])) / 5;
  }
  for (int i = 0; i < 12; i++) CHECK(d[i] == doctest::Approx(want[size_t(i)]).epsilon(1e-6));
}

TEST_CASE("categorical cross-entropy of an output that is not a softmax reads each row as a distribution (Keras)") {
  // dense(2, sigmoid) without bias on x = [1, 0]: p = sigmoid(row 0 of W) = [0.2, 0.6],
  // renormalised [0.25, 0.75]; the target class 1 costs -log(0.75) (not -log(0.6)).
  for (const char* loss : {"categorical_crossentropy", "sparse_categorical_crossentropy"}) {
    CAPTURE(loss);
    frontend::Model m = frontend::load_model_text(
        std::string(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 2, "activation": "sigmoid",
          "use_bias": false}], "loss": ")") + loss + "\"}",
        "m.json");
    passes::TrainingGraph tg = passes::build_loss_graph(frontend::build_model(m, 1).graph, m.training);
    const ir::Graph& g = tg.graph;
    bool sparse = std::string(loss) == "sparse_categorical_crossentropy";
    ir::Bindings b = {{"input", Tensor(g.type(g.find("input")), {1, 0})},
                      {"dense_1.kernel", Tensor(g.type(g.find("dense_1.kernel")), {std::log(0.25), std::log(1.5), 0, 0})},
                      {"target", Tensor(g.type(tg.targets.at(0)), sparse ? std::vector<double>{1} : std::vector<double>{0, 1})}};
    auto env = ir::evaluate(g, b, ir::EvalContext{true, ir::Precision::f64, 0, 0});
    CHECK(env[size_t(tg.loss)][0] == doctest::Approx(-std::log(0.75)).epsilon(1e-6));
  }
}
