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

TEST_CASE("frontend: the optimizer options as Keras writes them") {
  auto sgd = training(R"("optimizer": {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": true})").optimizer;
  CHECK(sgd.type == "sgd");
  CHECK(sgd.get("momentum") == 0.9);
  CHECK(sgd.get("nesterov") == 1);
  auto plain = training(R"("optimizer": "sgd")").optimizer;
  CHECK(plain.get("momentum") == 0);
  CHECK(plain.get("nesterov") == 0);
  auto rms = training(R"("optimizer": {"type": "rmsprop", "momentum": 0.5, "centered": true})").optimizer;
  CHECK(rms.get("momentum") == 0.5);
  CHECK(rms.get("centered") == 1);
  auto adam = training(R"("optimizer": {"type": "adam", "beta_1": 0.8, "beta_2": 0.99, "amsgrad": true})").optimizer;
  CHECK(adam.get("beta1") == 0.8);
  CHECK(adam.get("beta2") == 0.99);
  CHECK(adam.get("amsgrad") == 1);
  CHECK(adam.weight_decay == 0);
  // AdamW: decoupled decay at Keras's default 0.004 unless given.
  auto adamw = training(R"("optimizer": "adamw")").optimizer;
  CHECK(adamw.type == "adamw");
  CHECK(adamw.weight_decay == 0.004);
  CHECK(adamw.decoupled_weight_decay);
  auto adamw2 = training(R"("optimizer": {"type": "adamw", "weight_decay": 0.01})").optimizer;
  CHECK(adamw2.weight_decay == 0.01);
  CHECK(adamw2.decoupled_weight_decay);
  auto adagrad = training(R"("optimizer": {"type": "adagrad", "initial_accumulator_value": 0.1})").optimizer;
  CHECK(adagrad.get("initial_accumulator") == 0.1);
}

TEST_CASE("frontend: a misplaced optimizer option names the optimizers that have it") {
  auto err = [](const std::string& opt) {
    return load_error(R"({"input_shape": [4], "layers": [{"type": "dense", "units": 3}],
"optimizer": )" + opt + "}");
  };
  CHECK(err(R"({"type": "sgd", "beta1": 0.9})") ==
        "m.json:2:39: optimizer.beta1: optimizer 'sgd' has no option 'beta1': it is an option of adam, adamw, nadam");
  CHECK(err(R"({"type": "adam", "centered": true})") ==
        "m.json:2:43: optimizer.centered: optimizer 'adam' has no option 'centered': it is an option of rmsprop");
  CHECK(err(R"({"type": "rmsprop", "nesterov": true})") ==
        "m.json:2:46: optimizer.nesterov: optimizer 'rmsprop' has no option 'nesterov': it is an option of sgd");
  // A misspelling that no optimizer has: the nearest option of this one.
  CHECK(err(R"({"type": "adam", "amsgard": true})") ==
        "m.json:2:31: optimizer.amsgard: unknown attribute 'amsgard' for optimizer 'adam', did you mean 'amsgrad'?");
  CHECK(err(R"({"type": "sgd", "nesterov": true})") ==
        "m.json:2:42: optimizer.nesterov: nesterov needs a momentum > 0 (as \"momentum\": 0.9)");
  CHECK(err(R"({"type": "adam", "beta1": 0.9, "beta_1": 0.8})") ==
        "m.json:2:55: optimizer.beta_1: give 'beta1' once: 'beta1' and 'beta_1' are the same");
  CHECK(err(R"({"type": "adamw", "weight_decay_mode": "coupled"})") ==
        "m.json:2:53: optimizer.weight_decay_mode: adamw's weight decay is decoupled; for the coupled (L2) form use "
        "\"adam\" with \"weight_decay\"");
}

TEST_CASE("frontend: loss, metrics, batch size and epochs") {
  auto t = training(R"("loss": "mean_squared_error", "batch_size": 8, "epochs": 3,
                       "metrics": ["accuracy", {"type": "top_k_accuracy", "k": 3}])");
  CHECK(t.has_loss);
  CHECK(t.losses.at(0).type == "mse"); // the alias is canonicalised
  CHECK(t.losses.at(0).output == "dense_1");
  CHECK(t.batch_size == 8);
  CHECK(t.epochs == 3);
  // top_k_accuracy is read as Keras's top_k_categorical_accuracy; "loss" is always reported.
  REQUIRE(t.metrics.size() == 2);
  CHECK(t.metrics[0].name == "accuracy");
  CHECK(t.metrics[1].name == "top_k_categorical_accuracy");
  CHECK(t.metrics[1].k == 3);
  CHECK_FALSE(training(R"("epochs": 2)").has_loss);
}

TEST_CASE("frontend: metrics by their Keras names, each checked against the output") {
  auto t = training(R"("loss": "categorical_crossentropy",
                       "metrics": ["acc", "loss", "mean_squared_error", "mae", "top_k_categorical_accuracy"])");
  std::vector<std::string> names;
  for (auto& m : t.metrics) names.push_back(m.name);
  CHECK(names == std::vector<std::string>{"accuracy", "mse", "mae", "top_k_categorical_accuracy"});
  CHECK(t.metrics[3].k == 5); // Keras's default
  // precision, recall and auc are metrics of binary tasks: one output unit.
  CHECK_THROWS_WITH_AS(training(R"("loss": "categorical_crossentropy", "metrics": ["accuracy", "auc"])"),
                       "m.json:1:150: metrics[1]: metric 'auc' does not fit output 'dense_1' of shape [3] per "
                       "sample: it is a metric of binary tasks: it needs an output of one unit (sigmoid), this one "
                       "has 3 per position",
                       Error);
  CHECK_THROWS_WITH_AS(training(R"("loss": "mse", "metrics": ["mae", "mae"])"),
                       "m.json:1:124: metrics[1]: metric 'mae' is listed twice", Error);
  CHECK_THROWS_WITH_AS(training(R"("metrics": ["accuracy"])"),
                       "m.json:1:102: metrics[0]: metrics are reported in training and evaluation: the model needs "
                       "a 'loss'",
                       Error);
  auto binary = frontend::load_model_text(
      R"({"input_shape": [4], "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}],
          "loss": "binary_crossentropy", "metrics": ["precision", "recall", "auc"]})",
      "b.json");
  CHECK(binary.training.metrics.size() == 3);
  CHECK_THROWS_WITH_AS(
      frontend::load_model_text(
          R"({"input_shape": [4], "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}],
              "loss": "binary_crossentropy", "metrics": [{"type": "top_k_categorical_accuracy", "k": 2}]})",
          "b.json"),
      doctest::Contains("b.json:2:58: metrics[0]: metric 'top_k_categorical_accuracy' does not fit output "
                        "'dense_1' of shape [1] per sample: it ranks classes"),
      Error);
}

TEST_CASE("frontend: the loss is checked against the output's shape where the file names it") {
  // A conv -> dense model without flatten: the output is [26, 26, 4] per sample.
  const char* conv = R"({"input_shape": [28, 28, 1], "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3},
      {"type": "dense", "units": 4, "activation": "softmax"}],
  "loss": "categorical_crossentropy"})";
  CHECK_THROWS_WITH_AS(frontend::load_model_text(conv, "c.json"),
                       "c.json:3:11: loss: loss 'categorical_crossentropy' does not fit output 'dense_1' of shape "
                       "[26,26,4] per sample: it needs an output of shape [batch, classes] or [batch, steps, "
                       "classes] (add a flatten layer before the dense layer that makes the classes)",
                       Error);
}

TEST_CASE("frontend: reduce_on_plateau with Keras's defaults, and its bad input") {
  auto t = training(R"("loss": "categorical_crossentropy", "metrics": ["accuracy"],
                       "optimizer": {"type": "sgd", "reduce_on_plateau": {}})");
  const ir::PlateauSpec& p = t.optimizer.plateau;
  CHECK(p.enabled);
  CHECK(p.monitor == "val_loss");
  CHECK_FALSE(p.maximize);
  CHECK(p.factor == 0.1);
  CHECK(p.patience == 10);
  CHECK(p.min_delta == 1e-4);
  CHECK(p.cooldown == 0);
  CHECK(p.min_lr == 0);
  CHECK_FALSE(training(R"("loss": "mse")").optimizer.plateau.enabled);
  // "auto": accuracy is better when larger; "mode" overrides.
  CHECK(training(R"("loss": "mse", "metrics": ["accuracy"],
                    "optimizer": {"type": "sgd", "reduce_on_plateau": {"monitor": "val_accuracy"}})")
            .optimizer.plateau.maximize);
  CHECK_FALSE(training(R"("loss": "mse", "metrics": ["accuracy"],
                          "optimizer": {"type": "sgd", "reduce_on_plateau": {"monitor": "accuracy", "mode": "min"}})")
                  .optimizer.plateau.maximize);
  auto bad = [](const std::string& plateau) {
    return training(R"("loss": "mse", "metrics": ["mae"], "optimizer": {"type": "sgd", "reduce_on_plateau": )" +
                    plateau + "}");
  };
  CHECK_THROWS_WITH_AS(bad(R"({"factor": 1.5})"),
                       "m.json:1:186: optimizer.reduce_on_plateau.factor: expected a factor in (0, 1), got 1.5", Error);
  CHECK_THROWS_WITH_AS(bad(R"({"factor": 0})"),
                       "m.json:1:186: optimizer.reduce_on_plateau.factor: expected a positive number, got 0", Error);
  CHECK_THROWS_WITH_AS(bad(R"({"patience": -1})"),
                       "m.json:1:188: optimizer.reduce_on_plateau.patience: expected a number of epochs >= 0, got -1",
                       Error);
  CHECK_THROWS_WITH_AS(bad(R"({"cooldown": 1.5})"), doctest::Contains("optimizer.reduce_on_plateau.cooldown: expected an integer"),
                       Error);
  CHECK_THROWS_WITH_AS(bad(R"({"min_lr": -0.1})"),
                       "m.json:1:186: optimizer.reduce_on_plateau.min_lr: expected a number >= 0, got -0.1", Error);
  CHECK_THROWS_WITH_AS(bad(R"({"min_delta": -1})"), doctest::Contains("reduce_on_plateau.min_delta: expected a number >= 0"),
                       Error);
  CHECK_THROWS_WITH_AS(bad(R"({"mode": "up"})"),
                       doctest::Contains("reduce_on_plateau.mode: expected \"auto\", \"min\" or \"max\""), Error);
  CHECK_THROWS_WITH_AS(bad(R"({"monitor": "val_accuracy"})"),
                       "m.json:1:187: optimizer.reduce_on_plateau.monitor: reduce_on_plateau cannot monitor "
                       "'val_accuracy': it watches the loss or a metric the model lists; known: loss, val_loss, mae, "
                       "val_mae",
                       Error);
  CHECK_THROWS_WITH_AS(bad(R"({"patiance": 3})"), doctest::Contains("did you mean 'patience'"), Error);
  CHECK_THROWS_WITH_AS(bad("5"), doctest::Contains("optimizer.reduce_on_plateau: expected an object"), Error);
}
