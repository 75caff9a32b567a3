// Regularizers (issue #18): Keras's kernel_regularizer / bias_regularizer add
// l1·Σ|w| + l2·Σw² to the loss. The loss and its gradient worked out by hand, the forms
// the model format accepts, and bad input. The compiled backends train a model with
// regularizers as the interpreter does (kGlobalPoolingModel in codegen_cpp_helpers.h).
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "ir/printer.h"
#include "passes/training.h"

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
  b["target"] = ir::Tensor(g.type(t.target), {0});
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
