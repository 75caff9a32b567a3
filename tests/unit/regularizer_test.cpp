// Regularizers (issue #18): Keras's kernel_regularizer / bias_regularizer add
// l1·Σ|w| + l2·Σw² to the loss. The loss and its gradient worked out by hand, the forms
// the model format accepts, and bad input. The compiled backends train a model with
// regularizers as the interpreter does (kGlobalPoolingModel in codegen_cpp_helpers.h).
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "ir/printer.h"
#include "passes/training.h"
#include "pipeline/runner.h"
#include "tools/trainer.h"

#include <doctest/doctest.h>

using namespace dlc;

namespace {

std::string error_of(const std::string& layer) {
  try {
    frontend::load_model_text(R"({"input_shape": [2], "layers": [)" + layer + R"(], "loss": "mse"})", "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("regularizers: the loss and its gradient by hand") {
  // Linear dense 2 -> 1 without bias, w = [1, -2], on x = 0 with target 0: the mse is 0 and
  // the loss is the penalty alone, 0.1 * (1 + 2) + 0.5 * (1 + 4) = 2.8; its gradient is
  // 0.1 * sign(w) + 2 * 0.5 * w = [1.1, -2.1].
  auto m = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1, "use_bias": false,
      "kernel_regularizer": {"type": "l1_l2", "l1": 0.1, "l2": 0.5}}], "loss": "mse"})", "m.json");
  auto fwd = frontend::build_model(m, 1);
  CHECK(ir::print_graph(fwd.graph).find("param %dense_1.kernel: f32[2,1] = glorot_uniform l1(0.1) l2(0.5)") !=
        std::string::npos);
  passes::TrainingGraph t = passes::build_training_graph(fwd.graph, m.training);
  ir::Graph& g = t.graph;
  REQUIRE(t.grads.size() == 1);
  g.add_output("dw", t.grads[0].grad);
  ir::Bindings b = ir::init_params(g, 1);
  b["dense_1.kernel"] = ir::Tensor(g.type(g.find("dense_1.kernel")), {1, -2});
  b["input"] = ir::Tensor(g.type(g.find("input")), {0, 0});
  b["target"] = ir::Tensor(g.type(t.targets.at(0)), {0});
  b["lr"] = ir::Tensor(g.type(t.lr), {0});
  auto out = ir::run_outputs(g, b, ir::EvalContext{true, ir::Precision::f64, 0, 0});
  for (auto& [name, value] : out) {
    if (name == "loss") CHECK(value[0] == doctest::Approx(2.8));
    if (name == "dw") {
      CHECK(value[0] == doctest::Approx(1.1));
      CHECK(value[1] == doctest::Approx(-2.1));
    }
  }
}

TEST_CASE("regularizers: the regularization part of the loss, reported by both runners and in the history") {
  // The model above with a bias and a sample whose mse is 1 (w x = 0, bias 0, target 1):
  // the loss is 1 + 2.8, its part regularization_loss 2.8 (before the step's update).
  auto m = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1,
      "kernel_regularizer": {"type": "l1_l2", "l1": 0.1, "l2": 0.5}}], "loss": "mse",
      "optimizer": {"type": "sgd", "lr": 0.1}})", "m.json");
  for (auto* make : {&pipeline::make_ref_runner, &pipeline::make_jit_runner}) {
    std::unique_ptr<pipeline::Runner> r = make(m, 1);
    CAPTURE(r->backend());
    r->init(1);
    ir::Bindings v = r->values();
    v["dense_1.kernel"] = ir::Tensor(v.at("dense_1.kernel").type, {1, -2});
    v["dense_1.bias"] = ir::Tensor(v.at("dense_1.bias").type, {0});
    r->set_values(v);
    float x[2] = {0, 0}, t[1] = {1};
    CHECK(r->loss_part_names() == std::vector<std::string>{"regularization_loss"});
    CHECK(r->train_step(x, t, 1, 0.1, 0, nullptr) == doctest::Approx(3.8).epsilon(1e-6));
    REQUIRE(r->last_loss_parts().size() == 1);
    CHECK(r->last_loss_parts()[0] == doctest::Approx(2.8).epsilon(1e-6));
  }
  // No regularizer: no part.
  auto plain = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1}],
      "loss": "mse"})", "m.json");
  CHECK(pipeline::make_ref_runner(plain, 1)->loss_part_names().empty());
  // The history gives the part its own column after the loss.
  std::vector<tools::EpochMetrics> h = {{1, 3.8, {}, -1, {}, 0.1, 0.5, {2.8}}};
  CHECK(tools::history_text("h.csv", h, {}, {"regularization_loss"}) ==
        "epoch,loss,regularization_loss,lr,time\n1,3.8,2.8,0.1,0.500000\n");
}

TEST_CASE("regularizers: Keras's forms and their default weights") {
  auto weights = [](const std::string& reg) {
    auto m = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1,
        "bias_regularizer": )" + reg + "}]}", "m.json");
    const ir::Value& v = frontend::build_model(m, 1).graph.value(frontend::build_model(m, 1).graph.find("dense_1.bias"));
    return std::pair<double, double>{v.l1, v.l2};
  };
  CHECK(weights(R"("l2")") == std::pair<double, double>{0, 0.01});
  CHECK(weights(R"("l1")") == std::pair<double, double>{0.01, 0});
  CHECK(weights(R"("l1_l2")") == std::pair<double, double>{0.01, 0.01});
  CHECK(weights(R"({"type": "l2", "l2": 0.0001})") == std::pair<double, double>{0, 0.0001});
  CHECK(weights(R"({"type": "l1_l2", "l1": 0.5})") == std::pair<double, double>{0.5, 0.01});
}

TEST_CASE("regularizers: bad input") {
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_regularizer": "l3"})")
            .find("unknown regularizer 'l3', did you mean 'l1'?") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_regularizer": {"type": "l2", "l2": -1}})")
            .find("expected a weight >= 0") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_regularizer": {"type": "l2", "l1": 0.1}})")
            .find("l1") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "recurrent_regularizer": "l2"})").find("recurrent_regularizer") !=
        std::string::npos);
}

// Constraints (Keras's kernel_constraint / bias_constraint) act on the updated parameter.
TEST_CASE("constraints: max_norm and non_neg on the updated parameters, by hand") {
  // Dense 2 -> 2, kernel [[3, 0], [4, 1]] ([in, units]), bias [-1, 2]; at lr 0 the update
  // leaves both as they are and only the constraints act. max_norm 2 over axis 0 (each
  // unit's incoming weights): column 0 has norm 5 and becomes [1.2, 1.6]; column 1 has
  // norm 1 and stays (times 1 / (1 + 1e-7)). non_neg turns the bias into [0, 2].
  auto m = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 2,
      "kernel_constraint": {"type": "max_norm", "max_value": 2, "axis": 0}, "bias_constraint": "non_neg"}],
      "loss": "mse", "optimizer": "sgd"})", "m.json");
  auto fwd = frontend::build_model(m, 1);
  std::string text = ir::print_graph(fwd.graph);
  CHECK(text.find("param %dense_1.kernel: f32[2,2] = glorot_uniform max_norm(2, axes=[0])") != std::string::npos);
  CHECK(text.find("param %dense_1.bias: f32[2] = zeros non_neg") != std::string::npos);
  passes::TrainingGraph t = passes::build_training_graph(fwd.graph, m.training);
  ir::Graph& g = t.graph;
  ir::Bindings b = ir::init_params(g, 1);
  b["dense_1.kernel"] = ir::Tensor(g.type(g.find("dense_1.kernel")), {3, 0, 4, 1});
  b["dense_1.bias"] = ir::Tensor(g.type(g.find("dense_1.bias")), {-1, 2});
  b["input"] = ir::Tensor(g.type(g.find("input")), {1, 1});
  b["target"] = ir::Tensor(g.type(t.targets.at(0)), {0, 0});
  b["lr"] = ir::Tensor(g.type(t.lr), {0});
  ir::apply_updates(g, ir::evaluate(g, b), b);
  const ir::Tensor &w = b["dense_1.kernel"], &bias = b["dense_1.bias"];
  CHECK(w[0] == doctest::Approx(1.2));
  CHECK(w[2] == doctest::Approx(1.6));
  CHECK(w[1] == doctest::Approx(0.0));
  CHECK(w[3] == doctest::Approx(1.0));
  CHECK(w[3] < 1.0); // 1 / (1 + 1e-7), Keras's epsilon
  CHECK(bias[0] == 0.0);
  CHECK(bias[1] == doctest::Approx(2.0));
}

TEST_CASE("constraints: the axes the norm runs over, and bad input") {
  auto axes = [](const std::string& c) {
    auto m = frontend::load_model_text(R"({"input_shape": [4, 4, 1], "layers": [{"type": "conv2d", "filters": 2,
        "kernel_size": 3, "kernel_constraint": )" + c + "}]}", "m.json");
    auto g = frontend::build_model(m, 1).graph;
    const ir::Value& v = g.value(g.find("conv2d_1.kernel"));
    return std::pair<double, std::vector<int64_t>>{v.max_norm, v.max_norm_axes};
  };
  CHECK(axes(R"("max_norm")") == std::pair<double, std::vector<int64_t>>{2, {0}});
  CHECK(axes(R"({"type": "max_norm", "max_value": 3, "axis": [2, 0, 1]})") ==
        std::pair<double, std::vector<int64_t>>{3, {0, 1, 2}});
  CHECK(axes(R"({"type": "max_norm", "axis": -1})") == std::pair<double, std::vector<int64_t>>{2, {3}});
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_constraint": "max_nrom"})")
            .find("unknown constraint 'max_nrom', did you mean 'max_norm'?") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_constraint": {"type": "max_norm", "axis": 2}})")
            .find("axis 2 is out of range for the parameter's shape [2,1]") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_constraint": {"type": "max_norm", "max_value": 0}})")
            .find("expected a norm > 0") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_constraint": {"type": "max_norm", "axis": [0, 0]}})")
            .find("axis 0 is given twice") != std::string::npos);
  CHECK(error_of(R"({"type": "dense", "units": 1, "kernel_constraint": {"type": "non_neg", "max_value": 1}})")
            .find("unknown attribute 'max_value'") != std::string::npos);
}
