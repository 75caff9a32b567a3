// batch_normalization against PyTorch (issue #18), from the committed fixture
// tests/fixtures/normalization/torch_batch_norm.h (F.batch_norm in double, channels last):
// in a training step the values, the gradients with respect to the input, gamma and beta
// for an upstream gradient dy, and the running statistics after the step (Keras's
// momentum and biased running variance, see the fixture script); in inference the values
// from the running statistics. The reference interpreter and the JIT are both checked on
// the graph of each phase (passes::specialize_phase). A model with the layer trains in
// emitted C++ and the JIT as in the interpreter (codegen_cpp_parity_test.cpp).
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "model_error.h"
#include "passes/rewrite.h"
#include "passes/training.h"
#include "tests/fixtures/normalization/torch_batch_norm.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

using namespace dlc;
namespace fx = torch_batch_norm_fixture;

namespace {

using test_cpp::as_double;

// The graph of one phase with its updates turned into outputs ("moving_mean",
// "moving_variance"), so that both runners return them.
ir::Graph phase_graph(const ir::Graph& forward, bool training) {
  ir::Graph specialised = passes::specialize_phase(forward, training);
  passes::GraphRewriter rw(specialised);
  for (size_t i = 0; i < specialised.nodes().size(); i++) rw.copy_node(int(i));
  ir::Graph g = rw.finish(false);
  for (auto& o : specialised.outputs()) g.add_output(o.name, rw.map(o.value));
  for (auto& u : specialised.updates())
    g.add_output(specialised.value(u.target).name.substr(3), rw.map(u.value)); // "bn.moving_mean" -> "moving_mean"
  return g;
}

void check_all(const ir::Graph& g, const ir::Bindings& b, const std::vector<std::pair<std::string, const std::vector<double>*>>& want) {
  auto ref = ir::run_outputs(g, b, ir::EvalContext{true, ir::Precision::f32, 0, 0});
  std::vector<std::vector<float>> jit = test_cpp::run_jit(g, b);
  REQUIRE(ref.size() == want.size());
  REQUIRE(jit.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    CHECK(ref[i].first == want[i].first);
    test_cpp::check_close(ref[i].second.data, *want[i].second, "interpreter " + want[i].first, 2e-5);
    test_cpp::check_close(as_double(jit[i]), *want[i].second, "jit " + want[i].first, 2e-5);
  }
}

void check_case(const fx::Case& c) {
  CAPTURE(std::string(c.members));
  std::vector<int64_t> per_sample(c.shape.begin() + 1, c.shape.end());
  std::string members = std::string(c.members).empty() ? "" : ", " + std::string(c.members);
  std::string model = fmt::format(R"({{"input_shape": [{}], "layers": [{{"type": "batch_normalization", "name": "bn"{}}}]}})",
                                  fmt::join(per_sample, ", "), members);
  ir::Graph fwd = frontend::build_model(frontend::load_model_text(model, "torch.json"), c.shape[0]).graph;
  fwd.batch = 0; // run whole by the JIT helper, as the interpreter does
  ir::Bindings b = {{"input", ir::Tensor(fwd.type(fwd.find("input")), c.x)},
                    {"bn.moving_mean", ir::Tensor(fwd.type(fwd.find("bn.moving_mean")), c.mean0)},
                    {"bn.moving_variance", ir::Tensor(fwd.type(fwd.find("bn.moving_variance")), c.var0)}};
  if (c.affine) {
    b["bn.gamma"] = ir::Tensor(fwd.type(fwd.find("bn.gamma")), c.gamma);
    b["bn.beta"] = ir::Tensor(fwd.type(fwd.find("bn.beta")), c.beta);
  } else {
    CHECK(fwd.find("bn.gamma") == ir::kNoValue);
    CHECK(fwd.find("bn.beta") == ir::kNoValue);
  }
  SUBCASE("training step: batch statistics, gradients, running statistics") {
    ir::Graph g = phase_graph(fwd, true);
    std::vector<std::pair<std::string, ir::ValueId>> wrt = {{"dx", g.find("input")}};
    if (c.affine) wrt.insert(wrt.end(), {{"dgamma", g.find("bn.gamma")}, {"dbeta", g.find("bn.beta")}});
    test_cpp::add_gradient_outputs(g, g.outputs()[0].value, c.dy, wrt);
    std::vector<std::pair<std::string, const std::vector<double>*>> want = {
        {"bn", &c.y}, {"moving_mean", &c.mean1}, {"moving_variance", &c.var1}, {"dx", &c.dx}};
    if (c.affine) want.insert(want.end(), {{"dgamma", &c.dgamma}, {"dbeta", &c.dbeta}});
    check_all(g, b, want);
  }
  SUBCASE("inference: running statistics, no update") {
    ir::Graph g = phase_graph(fwd, false);
    CHECK(g.updates().empty());
    check_all(g, b, {{"bn", &c.y_inference}});
  }
}

std::string error_of(const std::string& layer, const std::string& shape = "[3, 4]") {
  return test_cpp::model_error(layer, shape);
}

} // namespace

TEST_CASE("batch_normalization matches PyTorch: training step and inference, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) check_case(c);
}

TEST_CASE("batch_normalization: the statistics are frozen params updated by training steps only") {
  auto m = frontend::load_model_text(R"({"input_shape": [4, 4, 2], "layers": [{"type": "conv2d", "filters": 3,
      "kernel_size": 3, "kernel_regularizer": "l2"}, {"type": "batch_normalization"}], "loss": "mse"})", "m.json");
  ir::Graph fwd = frontend::build_model(m, 2).graph;
  const ir::Value& mean = fwd.value(fwd.find("batch_normalization_1.moving_mean"));
  CHECK(mean.kind == ir::ValueKind::param);
  CHECK_FALSE(mean.trainable);
  CHECK(mean.type.str() == "f32[3]");
  CHECK(fwd.param_count(true) == 2 * 3 * 3 * 3 + 3 + 2 * 3); // conv kernel and bias, gamma and beta
  CHECK(fwd.param_count() == 2 * 3 * 3 * 3 + 3 + 4 * 3);
  // Training: the statistics are updated, and have no gradient or optimizer state.
  passes::TrainingGraph t = passes::build_training_graph(fwd, m.training);
  int stat_updates = 0;
  for (auto& u : t.graph.updates()) {
    std::string name = t.graph.value(u.target).name;
    stat_updates += name.find("moving_") != std::string::npos;
  }
  CHECK(stat_updates == 2);
  for (auto& pg : t.grads) CHECK(t.graph.value(pg.param).name.find("moving_") == std::string::npos);
  CHECK(t.grads.size() == 4);
  // The specialised graph renumbers values: the regularizer is still found by parameter.
  CHECK(t.graph.find("conv2d_1.kernel.l2_penalty") != ir::kNoValue);
  // Evaluation and inference: no update, no batch statistics.
  passes::TrainingGraph e = passes::build_loss_graph(fwd, m.training);
  CHECK(e.graph.updates().empty());
  for (const ir::Node& n : e.graph.nodes()) CHECK(n.op->name != "phase_select");
}

TEST_CASE("batch_normalization: bad input") {
  CHECK(error_of(R"({"type": "batch_normalization", "axis": 1})", "[3, 4]")
            .find("normalises the last axis (-1, the channels of NHWC) only; axis 1 of f32[1,3,4] is not") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "batch_normalization", "momentum": 1})").find("expected a number in [0, 1), got 1") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "batch_normalization", "epsilon": -1})").find("expected a positive number, got -1") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "batch_normalization", "momentun": 0.9})").find("did you mean 'momentum'?") !=
        std::string::npos);
}
