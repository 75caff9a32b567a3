// The frontend's messages (exact text, with file:line:col and JSON path) and the
// training sections with their defaults (frontend/training_spec.cpp).
#include "frontend/model.h"

#include <doctest/doctest.h>

using namespace dlc;

namespace {

std::string load_error(const std::string& json) {
  try {
    frontend::load_model_text(json, "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

frontend::TrainingSpec training(const std::string& sections) {
  return frontend::load_model_text(
             R"({"input_shape": [4], "layers": [{"type": "dense", "units": 3, "activation": "softmax"}], )" +
                 sections + "}",
             "m.json")
      .training;
}

} // namespace

TEST_CASE("frontend: error messages name file, line, column and JSON path") {
  // The issue's example: the third layer's units on line 6, column 32.
  CHECK(load_error("{\n  \"input_shape\": [784],\n  \"layers\": [\n"
                   "    {\"type\": \"dense\", \"units\": 500, \"activation\": \"relu\"},\n"
                   "    {\"type\": \"dense\", \"units\": 500, \"activation\": \"relu\"},\n"
                   "    {\"type\": \"dense\", \"units\": -3, \"activation\": \"softmax\"}\n  ]\n}\n") ==
        "m.json:6:32: layers[2].units: expected a positive integer, got -3");
  CHECK(load_error(R"({"input_shape": [4], "layers": [{"type": "dens", "units": 2}]})") ==
        "m.json:1:42: layers[0].type: unknown layer type 'dens', did you mean 'dense'?");
  CHECK(load_error(R"({"input_shape": [4], "layers": [{"type": "dense", "units": 2, "activaton": "relu"}]})") ==
        "m.json:1:63: layers[0].activaton: unknown attribute 'activaton' for layer type 'dense', did you mean "
        "'activation'?");
  CHECK(load_error(R"({"input_shape": [4], "layers": [{"type": "dense", "units": 2}, {"type": "flatten"},
                      {"type": "max_pool2d"}]})") ==
        "m.json:2:23: layers[2]: layer 'max_pool2d_1' (max_pool2d) needs a 4-D input [batch, height, width, "
        "channels], but layer 'flatten_1' gives f32[1,2]");
  CHECK(load_error("") == "m.json:1:1: the file is empty; expected a JSON object describing a model");
  CHECK(load_error("{\"input_shape\": [4],\n \"layers\": [}") == "m.json:2:13: malformed JSON: expected a value, got '}'");
  CHECK(load_error(std::string("{\"name\": \"a\xC3\x28\"}")) ==
        "m.json:1:12: not a UTF-8 text file: invalid UTF-8 byte 0xC3 at byte offset 11");
  // An overlong encoding of '/' and a UTF-16 surrogate are not UTF-8 either.
  CHECK(load_error("\"\xC0\xAF\"").find("invalid UTF-8 byte 0xC0") != std::string::npos);
  CHECK(load_error("\"\xED\xA0\x80\"").find("invalid UTF-8 byte 0xED") != std::string::npos);
}

TEST_CASE("frontend: valid UTF-8 and a byte order mark are accepted") {
  // The mark and "é" count one column each: "[]" starts at column 56 of line 1.
  CHECK(load_error("\xEF\xBB\xBF{\"description\": \"caf\xC3\xA9\", \"input_shape\": [4], \"layers\": []}") ==
        "m.json:1:56: layers: a model needs at least one layer");
}

TEST_CASE("frontend: optimizer defaults and hyper-parameters") {
  auto adam = training(R"("optimizer": "adam")").optimizer;
  CHECK(adam.type == "adam");
  CHECK(adam.get("lr") == 0.001);
  CHECK(adam.get("beta1") == 0.9);
  CHECK(adam.get("beta2") == 0.999);
  CHECK(adam.get("epsilon") == 1e-8);
  auto nadam = training(R"("optimizer": {"type": "nadam", "learning_rate": 0.01})").optimizer;
  CHECK(nadam.get("lr") == 0.01);
  CHECK(nadam.get("momentum_decay") == 0.004);
  auto sgd = training(R"("optimizer": {"type": "momentum", "lr": 0.1, "momentum": 0.5, "weight_decay": 1e-4,
                          "weight_decay_mode": "decoupled", "clip_norm": 5, "clip_value": 1,
                          "schedule": {"type": "step", "step_size": 10, "gamma": 0.5, "unit": "step"}})")
                 .optimizer;
  CHECK(sgd.get("lr") == 0.1);
  CHECK(sgd.get("momentum") == 0.5);
  CHECK(sgd.weight_decay == 1e-4);
  CHECK(sgd.decoupled_weight_decay);
  CHECK(sgd.clip_norm == 5);
  CHECK(sgd.clip_value == 1);
  CHECK(sgd.schedule.type == "step");
  CHECK(sgd.schedule.step_size == 10);
  CHECK(sgd.schedule.gamma == 0.5);
  CHECK(sgd.schedule.unit == "step");
  // No optimizer section: SGD at 0.01.
  auto none = training(R"("loss": "mse")");
  CHECK(none.optimizer.type == "sgd");
  CHECK(none.optimizer.get("lr") == 0.01);
  CHECK(none.batch_size == 32);
  CHECK(none.epochs == 1);
}

TEST_CASE("frontend: loss, metrics, batch size and epochs") {
  auto t = training(R"("loss": "mean_squared_error", "batch_size": 8, "epochs": 3,
                       "metrics": ["accuracy", {"type": "top_k_accuracy", "k": 3}])");
  CHECK(t.has_loss);
  CHECK(t.loss.type == "mse"); // the alias is canonicalised
  CHECK(t.loss.output == "dense_1");
  CHECK(t.batch_size == 8);
  CHECK(t.epochs == 3);
  CHECK(t.metrics == std::vector<std::string>{"accuracy", "top_k_accuracy"});
  CHECK(t.top_k == 3);
  CHECK_FALSE(training(R"("epochs": 2)").has_loss);
}
