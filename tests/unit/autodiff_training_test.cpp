// The training graph: which loss op each output and loss combine into, the inputs it
// adds, gradients only for parameters that reach the loss, a full SGD step through the
// interpreter, and the errors of models that cannot train.
#include "error_of.h"
#include "autodiff_test_helpers.h"
#include "frontend/model.h"
#include "ir/verifier.h"
#include "passes/training.h"

using namespace dlc;
using namespace dlc::testing;

namespace {

frontend::Model model(const std::string& activation, const std::string& loss, int64_t units = 3) {
  return frontend::load_model_text(fmt::format(R"({{"input_shape": [4], "layers": [
      {{"type": "dense", "units": {}, "activation": "{}"}}], "loss": "{}",
      "optimizer": {{"type": "sgd", "lr": 0.5}}}})",
                                               units, activation, loss),
                                   "model.json");
}

passes::TrainingGraph train_graph(const frontend::Model& m, int64_t batch = 2) {
  return passes::build_training_graph(frontend::build_model(m, batch).graph, m.training);
}

// The op computing the loss and the name of its first operand.
std::pair<std::string, std::string> loss_op(const passes::TrainingGraph& tg) {
  const ir::Value& l = tg.graph.value(tg.loss);
  const ir::Node& n = tg.graph.node(l.node);
  return {n.op->name, tg.graph.value(n.operands[0]).name};
}

} // namespace

TEST_CASE("training graph: softmax and sigmoid outputs fuse into the loss on their logits") {
  using P = std::pair<std::string, std::string>;
  CHECK(loss_op(train_graph(model("softmax", "categorical_crossentropy"))) ==
        P{"softmax_cross_entropy", "dense_1.bias_add"});
  CHECK(loss_op(train_graph(model("log_softmax", "categorical_crossentropy"))) ==
        P{"softmax_cross_entropy", "dense_1.bias_add"});
  CHECK(loss_op(train_graph(model("softmax", "sparse_categorical_crossentropy"))) ==
        P{"sparse_softmax_cross_entropy", "dense_1.bias_add"});
  CHECK(loss_op(train_graph(model("sigmoid", "binary_crossentropy", 1))) ==
        P{"sigmoid_binary_cross_entropy", "dense_1.bias_add"});
  CHECK(loss_op(train_graph(model("tanh", "binary_crossentropy"))) == P{"binary_cross_entropy", "dense_1.tanh"});
  CHECK(loss_op(train_graph(model("sigmoid", "mse"))) == P{"mse", "dense_1.sigmoid"});
  // Probabilities from anything else: -sum(y log clamp(p)) / batch.
  CHECK(loss_op(train_graph(model("relu", "categorical_crossentropy"))) == P{"scale", "loss.sum"});
}

TEST_CASE("training graph: inputs, outputs, one gradient and one update per parameter") {
  passes::TrainingGraph tg = train_graph(model("softmax", "sparse_categorical_crossentropy"), 5);
  const ir::Graph& g = tg.graph;
  ir::verify(g);
  CHECK(g.value(tg.targets.at(0)).name == "target");
  CHECK(g.type(tg.targets.at(0)) == ir::TensorType{ir::DType::i32, Shape{5}});
  CHECK(g.value(tg.lr).name == "lr");
  CHECK(g.type(tg.lr) == f32t({}));
  REQUIRE(g.outputs().size() == 2);
  CHECK(g.outputs()[0].name == "dense_1");
  CHECK(g.outputs()[1].name == "loss");
  REQUIRE(tg.grads.size() == 2);
  CHECK(g.value(tg.grads[0].grad).name == "d.dense_1.kernel");
  CHECK(g.value(tg.grads[1].grad).name == "d.dense_1.bias");
  CHECK(g.updates().size() == 2);
  passes::TrainingGraph dense = train_graph(model("softmax", "categorical_crossentropy"));
  CHECK(dense.graph.type(dense.targets.at(0)) == f32t({2, 3}));
}

TEST_CASE("training graph: one SGD step through the interpreter moves each parameter by -lr * grad") {
  passes::TrainingGraph tg = train_graph(model("softmax", "categorical_crossentropy"), 2);
  const ir::Graph& g = tg.graph;
  ir::Bindings b = ir::init_params(g, 3);
  b["input"] = Tensor(g.type(g.find("input")), randn(8, 4));
  b["target"] = Tensor(g.type(tg.targets.at(0)), std::vector<double>{0, 1, 0, 1, 0, 0});
  b["lr"] = Tensor(g.type(tg.lr), std::vector<double>{0.5});
  auto env = ir::evaluate(g, b, ir::EvalContext{true, ir::Precision::f64, 0, 0});
  ir::Bindings after = b;
  ir::apply_updates(g, env, after);
  for (auto& pg : tg.grads) {
    const std::string& name = g.value(pg.param).name;
    const Tensor &w0 = b.at(name), &w1 = after.at(name), &d = env[size_t(pg.grad)];
    for (int64_t i = 0; i < w0.numel(); i++) CHECK(w1[i] == doctest::Approx(w0[i] - 0.5 * d[i]));
  }
}

TEST_CASE("training graph: a parameter that only feeds another output gets no gradient") {
  frontend::Model m = frontend::load_model_text(R"({
    "inputs": [{"name": "x", "shape": [3]}], "outputs": ["a", "b"],
    "layers": [{"type": "dense", "name": "a", "inputs": "x", "units": 2, "activation": "softmax"},
               {"type": "dense", "name": "b", "inputs": "x", "units": 1}],
    "loss": {"type": "mse", "output": "b"}})", "two.json");
  passes::TrainingGraph tg = train_graph(m);
  REQUIRE(tg.grads.size() == 2);
  CHECK(tg.graph.value(tg.grads[0].param).name == "b.kernel");
  CHECK(loss_op(tg).second == "b.bias_add");
  CHECK(tg.graph.outputs().size() == 3);
}

TEST_CASE("training graph: models that cannot train are errors") {
  frontend::Model no_loss = frontend::load_model_text(
      R"({"input_shape": [4], "layers": [{"type": "dense", "units": 3}]})", "m.json");
  CHECK(error_of([&] { train_graph(no_loss); }) ==
        "the model has no 'loss'; training needs one (e.g. \"loss\": \"categorical_crossentropy\")");
  // Model loading refuses a loss that does not fit, naming where the file sets it ...
  const char* conv_text = R"({"input_shape": [5, 5, 1],
      "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3}], "loss": "categorical_crossentropy"})";
  CHECK(error_of([&] { frontend::load_model_text(conv_text, "m.json"); }) ==
        "m.json:2:79: loss: loss 'categorical_crossentropy' does not fit output 'conv2d_1' of shape [3,3,2] per "
        "sample: it needs an output of shape [batch, classes] or [batch, steps, classes] (add a flatten layer "
        "before the dense layer that makes the classes)");
  CHECK(error_of([&] { model("sigmoid", "sparse_categorical_crossentropy", 1); }) ==
        "model.json:2:72: loss: loss 'sparse_categorical_crossentropy' does not fit output 'dense_1' of shape [1] "
        "per sample: it needs at least 2 classes (use binary_crossentropy for one unit)");
  // ... and the training graph applies the same rule to a spec made without a file.
  frontend::Model conv = frontend::load_model_text(R"({"input_shape": [5, 5, 1],
      "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3}]})", "m.json");
  conv.training.has_loss = true;
  conv.training.losses = {{"categorical_crossentropy", "conv2d_1"}};
  CHECK(error_of([&] { train_graph(conv); }) ==
        "loss 'categorical_crossentropy' does not fit output 'conv2d_1' f32[2,3,3,2]: it needs an output of "
        "shape [batch, classes] or [batch, steps, classes] (add a flatten layer before the dense layer that makes "
        "the classes)");
}
