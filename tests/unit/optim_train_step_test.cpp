// passes/train_step: the schedule feeds each step's lr, epochs advance the epoch unit, and
// dropout masks are fresh per step yet reproducible from the seed.
#include "frontend/model.h"
#include "passes/train_step.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;

namespace {

ir::TensorType f32(ir::Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

struct Run {
  frontend::Model model;
  passes::TrainingGraph tg;
  passes::TrainState state;
  const ir::OptimizerSpec& opt() const { return model.training.optimizer; }
};

Run setup(const std::string& json, uint64_t seed) {
  Run r{frontend::load_model_text(json, "test.json"), {}, {}};
  r.tg = passes::build_training_graph(frontend::build_model(r.model, r.model.training.batch_size).graph,
                                      r.model.training);
  r.state = passes::init_train_state(r.tg, seed);
  return r;
}

// y = w x with w = 1, loss (w x - 0)^2 at x = 1: dL/dw = 2w, so sgd gives w <- w (1 - 2 lr).
std::string linear_model(const std::string& unit) {
  return R"({"input_shape": [1],
    "layers": [{"type": "dense", "units": 1, "use_bias": false,
                "kernel_initializer": {"type": "constant", "value": 1}}],
    "loss": "mse", "batch_size": 1,
    "optimizer": {"type": "sgd", "lr": 0.1,
                  "schedule": {"type": "exponential", "gamma": 0.5, "unit": ")" + unit + R"("}}})";
}

ir::Bindings sample(int64_t n) {
  return {{"input", ir::Tensor(f32({n, 1}), std::vector<double>(size_t(n), 1.0))},
          {"target", ir::Tensor(f32({n, 1}), std::vector<double>(size_t(n), 0.0))}};
}

} // namespace

TEST_CASE("optim: train_step feeds the scheduled learning rate of each step") {
  Run r = setup(linear_model("step"), 0);
  // lr 0.1, 0.05, 0.025: w = 0.8, 0.72, 0.684; the loss is w^2 before each step.
  CHECK(passes::train_step(r.tg, r.opt(), r.state, sample(1)) == doctest::Approx(1.0));
  CHECK(passes::train_step(r.tg, r.opt(), r.state, sample(1)) == doctest::Approx(0.64));
  CHECK(passes::train_step(r.tg, r.opt(), r.state, sample(1)) == doctest::Approx(0.5184));
  CHECK(r.state.values["dense_1.kernel"][0] == doctest::Approx(0.684));
  CHECK(r.state.step == 3);
}

TEST_CASE("optim: train_epochs advances a per-epoch schedule at epoch boundaries") {
  Run r = setup(linear_model("epoch"), 0);
  // Two samples, batch 1: epoch 0 at lr 0.1 (w 1 -> 0.8 -> 0.64), epoch 1 at 0.05
  // (w -> 0.576 -> 0.5184). Each epoch reports its mean batch loss.
  std::vector<double> losses = passes::train_epochs(r.tg, r.opt(), r.state, sample(2), 2);
  REQUIRE(losses.size() == 2);
  CHECK(losses[0] == doctest::Approx((1.0 + 0.64) / 2));
  CHECK(losses[1] == doctest::Approx((0.4096 + 0.331776) / 2));
  CHECK(r.state.values["dense_1.kernel"][0] == doctest::Approx(0.5184));
  CHECK(r.state.epoch == 2);
  CHECK(r.state.step == 4);
}

TEST_CASE("optim: train_epochs rejects data that does not fit") {
  Run r = setup(linear_model("epoch"), 0);
  ir::Bindings ragged = sample(2);
  ragged["target"] = ir::Tensor(f32({3, 1}));
  CHECK_THROWS_WITH_AS(passes::train_epochs(r.tg, r.opt(), r.state, ragged, 1),
                       doctest::Contains("'target' does not have 2 samples"), Error);
}

TEST_CASE("optim: dropout masks are fresh per step and reproducible from the seed") {
  const char* json = R"({"input_shape": [16],
    "layers": [{"type": "dropout", "rate": 0.5},
               {"type": "dense", "units": 1, "use_bias": false,
                "kernel_initializer": {"type": "constant", "value": 0.25}}],
    "loss": "mse", "batch_size": 1, "optimizer": {"type": "sgd", "lr": 0.01}})";
  ir::Bindings batch = {{"input", ir::Tensor(f32({1, 16}), std::vector<double>(16, 1.0))},
                        {"target", ir::Tensor(f32({1, 1}), std::vector<double>{0.0})}};
  // The loss of one step from the initial weights, at a given step count and seed: the
  // prediction is 0.25 * 2 * (inputs kept), so it shows the mask.
  auto loss_at = [&](int64_t step, uint64_t seed) {
    Run r = setup(json, seed);
    r.state.step = step;
    return passes::train_step(r.tg, r.opt(), r.state, batch);
  };
  CHECK(loss_at(3, 5) == loss_at(3, 5));
  std::vector<double> per_step;
  for (int64_t k = 0; k < 6; k++) per_step.push_back(loss_at(k, 5));
  bool varies = false;
  for (double l : per_step) {
    double kept = std::sqrt(l) / 0.5;
    CHECK(kept == doctest::Approx(std::round(kept))); // a whole number of inputs kept
    CHECK(kept < 16);
    varies |= l != per_step[0];
  }
  CHECK(varies);
  bool seed_matters = false;
  for (uint64_t seed = 6; seed < 10; seed++) seed_matters |= loss_at(0, seed) != per_step[0];
  CHECK(seed_matters);
}
