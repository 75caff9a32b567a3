// "trainable": false (issue #19, transfer learning): a frozen layer's parameters get no
// gradient, no optimizer state and no update; nothing below the lowest trainable layer is
// differentiated; a frozen batch_normalization normalises with its moving statistics in
// training too and does not update them (Keras's behaviour); dlc summary counts frozen
// parameters as non-trainable.
#include "frontend/model.h"
#include "frontend/summary.h"
#include "ir/interp/interpreter.h"
#include "passes/train_step.h"
#include "passes/training.h"

#include <doctest/doctest.h>

using namespace dlc;

namespace {

// A small CNN: a convolutional base (conv, batch norm, pool) under a dense head.
frontend::Model cnn(const std::string& base_trainable) {
  std::string t = base_trainable.empty() ? "" : ", \"trainable\": " + base_trainable;
  return frontend::load_model_text(R"({"input_shape": [6, 6, 1], "layers": [
      {"type": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu")" + t + R"(},
      {"type": "batch_normalization")" + t + R"(},
      {"type": "max_pool2d", "pool_size": 2},
      {"type": "flatten"},
      {"type": "dense", "units": 3, "activation": "softmax"}],
      "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.1}})",
                                   "cnn.json");
}

int count_ops(const ir::Graph& g, const std::string& prefix) {
  int k = 0;
  for (const ir::Node& n : g.nodes()) k += n.op->name.rfind(prefix, 0) == 0;
  return k;
}

} // namespace

TEST_CASE("trainable false: no gradient, optimizer state or update for a frozen base, no backward work below it") {
  auto frozen = cnn("false"), open = cnn("");
  auto tf = passes::build_training_graph(frontend::build_model(frozen, 4).graph, frozen.training);
  auto to = passes::build_training_graph(frontend::build_model(open, 4).graph, open.training);
  // Gradients: the head's kernel and bias only (the open model: conv, gamma/beta too).
  std::vector<std::string> names;
  for (auto& pg : tf.grads) names.push_back(tf.graph.value(pg.param).name);
  CHECK(names == std::vector<std::string>{"dense_1.kernel", "dense_1.bias"});
  CHECK(to.grads.size() == 6);
  // Adam's two moments for the two head parameters (and its step counter), nothing else.
  int moments = 0;
  for (ir::ValueId s : tf.graph.states()) {
    const std::string& n = tf.graph.value(s).name;
    moments += n.find(".m") != std::string::npos || n.find(".v") != std::string::npos;
    CHECK((n.rfind("dense_1.", 0) == 0 || n.rfind("opt.", 0) == 0));
  }
  CHECK(moments == 4);
  // No backward op of the base: the open model has them.
  for (const char* op : {"conv2d_backprop", "max_pool2d_grad", "relu_grad", "reduce_mean_grad"}) {
    CAPTURE(op);
    CHECK(count_ops(tf.graph, op) == 0);
    CHECK(count_ops(to.graph, op) > 0);
  }
  // A step moves the head and leaves the base, and the batch norm's moving statistics, as
  // they were.
  passes::TrainState st = passes::init_train_state(tf, 1);
  ir::Bindings before = st.values, batch = st.values;
  ir::Tensor x(tf.graph.type(tf.graph.find("input")));
  for (int64_t i = 0; i < x.numel(); i++) x[i] = double(i % 7) - 3;
  batch["input"] = x;
  batch["target"] = ir::Tensor(tf.graph.type(tf.targets.at(0)), {0, 1, 2, 1});
  batch["lr"] = ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape{}}, {0.1});
  passes::train_step(tf, frozen.training.optimizer, st, batch);
  for (const char* p : {"conv2d_1.kernel", "conv2d_1.bias", "batch_normalization_1.gamma", "batch_normalization_1.beta",
                        "batch_normalization_1.moving_mean", "batch_normalization_1.moving_variance"}) {
    CAPTURE(p);
    CHECK(st.values.at(p).data == before.at(p).data);
  }
  CHECK(st.values.at("dense_1.kernel").data != before.at("dense_1.kernel").data);
}

TEST_CASE("trainable false: a frozen batch_normalization normalises with its moving statistics when training") {
  auto m = frontend::load_model_text(R"({"input_shape": [2], "layers": [
      {"type": "batch_normalization", "trainable": false, "epsilon": 0.5}]})", "bn.json");
  auto bm = frontend::build_model(m, 2);
  ir::Bindings b = {{"input", ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape{2, 2}}, {1, 2, 3, 6})},
                    {"batch_normalization_1.moving_mean", ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape{2}}, {1, 2})},
                    {"batch_normalization_1.moving_variance", ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape{2}}, {1.5, 3.5})},
                    {"batch_normalization_1.gamma", ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape{2}}, {2, 1})},
                    {"batch_normalization_1.beta", ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape{2}}, {0, 1})}};
  // (x - mean) / sqrt(var + 0.5) * gamma + beta, with the moving statistics, training or not:
  // feature 0: (1-1)/sqrt(2)*2 = 0, (3-1)/sqrt(2)*2 = 2.828...; feature 1: (2-2)/2+1 = 1, (6-2)/2+1 = 3.
  for (bool training : {true, false}) {
    CAPTURE(training);
    ir::EvalContext ctx;
    ctx.training = training;
    auto y = ir::run_outputs(passes::specialize_phase(bm.graph, training), b, ctx)[0].second.data;
    CHECK(y[0] == doctest::Approx(0.0));
    CHECK(y[1] == doctest::Approx(1.0));
    CHECK(y[2] == doctest::Approx(2.8284271247461903));
    CHECK(y[3] == doctest::Approx(3.0));
  }
  CHECK(bm.graph.updates().empty());
}

TEST_CASE("trainable false: summary counts, and the member's type is checked") {
  auto s = frontend::summarize(frontend::build_model(cnn("false"), 1));
  // conv 3*3*1*2 + 2 = 20, batch norm 4 * 2 = 8 (all frozen), dense 8*3 + 3 = 27.
  CHECK(s.total_params == 55);
  CHECK(s.trainable_params == 27);
  CHECK(frontend::summarize(frontend::build_model(cnn("true"), 1)).trainable_params == 51);
  try {
    cnn("\"no\"");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("trainable") != std::string::npos);
  }
}
