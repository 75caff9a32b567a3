// Training through the interpreter converges: the whole pipeline (frontend, training
// graph, autodiff, optimizer, passes/train_step) on problems with a known answer.
#include "frontend/model.h"
#include "passes/train_step.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;

namespace {

ir::TensorType f32(ir::Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

struct Trained {
  frontend::Model model;
  passes::TrainState state;
};

// Trains a model given as JSON text on (x, target) for `epochs` epochs, full data set in
// batches of the model's batch_size.
Trained train(const std::string& json, const ir::Tensor& x, const ir::Tensor& target,
              int64_t epochs, uint64_t seed) {
  frontend::Model m = frontend::load_model_text(json, "test.json");
  frontend::BuiltModel fwd = frontend::build_model(m, m.training.batch_size);
  passes::TrainingGraph tg = passes::build_training_graph(fwd.graph, m.training);
  passes::TrainState s = passes::init_train_state(tg, seed);
  std::vector<double> losses =
      passes::train_epochs(tg, m.training.optimizer, s, {{"input", x}, {"target", target}}, epochs);
  CHECK(losses.back() < losses.front());
  return {m, s};
}

// Fraction of samples whose prediction matches: argmax for several outputs, > 0.5 for one.
double accuracy(const Trained& t, const ir::Tensor& x, const ir::Tensor& target) {
  int64_t n = x.shape()[0];
  frontend::BuiltModel fwd = frontend::build_model(t.model, n);
  ir::Bindings b = t.state.values;
  b["input"] = x;
  ir::Tensor y = ir::run_outputs(fwd.graph, b)[0].second;
  int64_t classes = y.numel() / n, right = 0;
  for (int64_t i = 0; i < n; i++) {
    if (classes == 1) {
      right += (y[i] > 0.5) == (target[i] > 0.5);
      continue;
    }
    int64_t best = 0, want = 0;
    for (int64_t c = 1; c < classes; c++) {
      if (y[i * classes + c] > y[i * classes + best]) best = c;
      if (target[i * classes + c] > target[i * classes + want]) want = c;
    }
    right += best == want;
  }
  return double(right) / double(n);
}

// Two classes in 4 dimensions split by a random hyperplane through the origin, with a
// margin: points closer than 0.1 to it are pushed out. Targets are one-hot.
void separable_data(int64_t n, ir::Tensor& x, ir::Tensor& y) {
  const int64_t d = 4;
  x = ir::Tensor(f32({n, d}));
  y = ir::Tensor(f32({n, 2}));
  double w[d] = {0.8, -0.5, 0.3, 0.6};
  for (int64_t i = 0; i < n; i++) {
    double dot = 0;
    for (int64_t j = 0; j < d; j++) {
      x[i * d + j] = double(float(dlc_rt::rng_normal(7, 1, uint64_t(i * d + j))));
      dot += w[j] * x[i * d + j];
    }
    if (std::fabs(dot) < 0.1)
      for (int64_t j = 0; j < d; j++) x[i * d + j] = double(float(x[i * d + j] + (dot < 0 ? -0.2 : 0.2) * w[j]));
    dot = 0;
    for (int64_t j = 0; j < d; j++) dot += w[j] * x[i * d + j];
    y[i * 2 + (dot > 0 ? 1 : 0)] = 1;
  }
}

} // namespace

TEST_CASE("optim: XOR with a 2-4-1 sigmoid network reaches 100% accuracy") {
  const char* json = R"({
    "input_shape": [2],
    "layers": [{"type": "dense", "units": 4, "activation": "sigmoid"},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "binary_crossentropy",
    "optimizer": {"type": "adam", "lr": 0.05},
    "batch_size": 4
  })";
  ir::Tensor x(f32({4, 2}), std::vector<double>{0, 0, 0, 1, 1, 0, 1, 1});
  ir::Tensor y(f32({4, 1}), std::vector<double>{0, 1, 1, 0});
  Trained t = train(json, x, y, 600, 1);
  CHECK(accuracy(t, x, y) == 1.0);
}

TEST_CASE("optim: an MLP on separable data reaches >95% with every optimizer") {
  ir::Tensor x, y;
  separable_data(256, x, y);
  // A learning rate per optimizer that suits this problem (the defaults suit larger ones).
  const std::vector<std::pair<std::string, double>> optimizers = {
      {"sgd", 0.5},      {"momentum", 0.1}, {"nesterov", 0.1}, {"adagrad", 0.1},
      {"rmsprop", 0.01}, {"adadelta", 1.0}, {"adam", 0.01},    {"nadam", 0.01}, {"adamw", 0.01}};
  for (auto& [type, lr] : optimizers) {
    INFO(type);
    std::string json = R"({
      "input_shape": [4],
      "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                 {"type": "dense", "units": 2, "activation": "softmax"}],
      "loss": "categorical_crossentropy",
      "optimizer": {"type": ")" + type + R"(", "lr": )" + std::to_string(lr) + R"(},
      "batch_size": 32
    })";
    Trained t = train(json, x, y, 15, 3);
    CHECK(accuracy(t, x, y) > 0.95);
  }
}
