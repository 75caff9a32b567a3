// Batch normalisation folded into the convolution or dense layer before it at inference
// (issue #18, passes/fold_batch_norm.h): the folded graph computes what the unfolded one
// does; the compiled inference program keeps no normalisation kernel and computes the
// folded weights in its weight preparation, which runs again whenever the parameters
// change (set, training). Emitted C++ agrees bit for bit with the JIT after training
// (codegen_jit_cpp_parity_test.cpp, kBatchNormModel).
#include "codegen/jit_backend.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "passes/fold_batch_norm.h"
#include "passes/training.h"
#include "pipeline/pipeline.h"

#include <doctest/doctest.h>

#include <random>

using namespace dlc;

namespace {

// conv2d -> BN (center and scale) -> relu; conv2d with bias -> BN without scale; dense
// with bias -> BN without center; a BN whose input is not a conv or dense output (kept).
const char* kModel = R"({"input_shape": [5, 5, 2], "layers": [
  {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "use_bias": false},
  {"type": "batch_normalization", "epsilon": 0.01},
  {"type": "activation", "activation": "relu"},
  {"type": "conv2d", "filters": 4, "kernel_size": 2},
  {"type": "batch_normalization", "scale": false},
  {"type": "flatten"},
  {"type": "dense", "units": 6},
  {"type": "batch_normalization", "center": false},
  {"type": "activation", "activation": "tanh"},
  {"type": "batch_normalization"},
  {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}})";

// Every parameter drawn at random; variances positive.
ir::Bindings random_params(const ir::Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  ir::Bindings b;
  for (ir::ValueId v : g.params()) {
    const std::string& name = g.value(v).name;
    std::vector<double> x(size_t(g.type(v).shape.numel()));
    for (double& e : x) e = name.find("variance") != std::string::npos ? 0.2 + std::fabs(u(rng)) : u(rng);
    b[name] = ir::Tensor(g.type(v), x);
  }
  return b;
}

std::vector<double> outputs(const ir::Graph& g, ir::Bindings b, const std::vector<double>& x) {
  b["input"] = ir::Tensor(g.type(g.find("input")), x);
  return ir::run_outputs(g, b, ir::EvalContext{false, ir::Precision::f64, 0, 0})[0].second.data;
}

int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node& node : g.nodes()) n += node.op->name == op;
  return n;
}

} // namespace

TEST_CASE("fold_batch_norm: the folded inference graph computes the unfolded one's values") {
  frontend::Model m = frontend::load_model_text(kModel, "m.json");
  ir::Graph plain = passes::specialize_phase(frontend::build_model(m, 3).graph, false);
  ir::Graph folded = passes::fold_batch_norm(plain);
  ir::Bindings params = random_params(plain, 1);
  std::vector<double> x(3 * 5 * 5 * 2);
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(-2, 2);
  for (double& e : x) e = u(rng);
  std::vector<double> want = outputs(plain, params, x), got = outputs(folded, params, x);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); i++) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-9));
  // Three normalisations folded (their weights rescaled), the one after tanh kept.
  for (const char* w : {"conv2d_1.kernel.folded", "conv2d_2.kernel.folded", "dense_1.kernel.folded"})
    CHECK(folded.find(w) != ir::kNoValue);
  CHECK(count_ops(plain, "div") == 4);
  CHECK(count_ops(folded, "div") == 4); // the kept one's, and three scales gamma / stddev of [C]
  for (const ir::Node& n : folded.nodes())
    if (n.op->name == "div") CHECK((n.name.find("fold_scale") != std::string::npos || n.name.find("batch_normalization_4") == 0));
}

TEST_CASE("fold_batch_norm: inference keeps no normalisation kernel; prepared weights follow the parameters") {
  frontend::Model m = frontend::load_model_text(kModel, "m.json");
  passes::Program p = pipeline::compile(m, passes::ProgramKind::inference, 4);
  REQUIRE(p.prepare_count > 0);
  for (int k = 0; k < int(p.kernels.size()); k++) {
    const passes::Kernel& kernel = p.kernels[size_t(k)];
    CHECK(kernel.prepare == (k < p.prepare_count));
    if (kernel.prepare) continue;
    for (int n : kernel.nodes) {
      const ir::Node& node = p.graph.node(n);
      INFO(kernel.name, ": ", node.name);
      // Per call, only the kept normalisation (after tanh) divides.
      if (node.op->name == "div") CHECK(node.name.rfind("batch_normalization_4", 0) == 0);
    }
  }

  codegen::JitModel jm(pipeline::jit_source(m, 4));
  jm.init(3);
  ir::Graph plain = passes::specialize_phase(frontend::build_model(m, 4).graph, false);
  std::vector<float> x(4 * 50), y(12);
  for (size_t i = 0; i < x.size(); i++) x[i] = float(std::sin(double(i)));
  std::vector<double> xd(x.begin(), x.end());
  auto check_against_interpreter = [&] {
    ir::Bindings b;
    for (ir::ValueId v : plain.params()) {
      std::vector<float> f = jm.get(plain.value(v).name);
      b[plain.value(v).name] = ir::Tensor(plain.type(v), std::vector<double>(f.begin(), f.end()));
    }
    jm.infer({x.data()}, {y.data()}, 4);
    std::vector<double> want = outputs(plain, b, xd);
    for (size_t i = 0; i < y.size(); i++) CHECK(double(y[i]) == doctest::Approx(want[i]).epsilon(1e-5));
  };
  // Non-trivial moving statistics and scales, set after a first (prepared) inference.
  jm.infer({x.data()}, {y.data()}, 4);
  ir::Bindings params = random_params(plain, 5);
  for (auto& [name, t] : params) jm.set(name, t.to_float());
  check_against_interpreter();
  jm.set("batch_normalization_1.gamma", {2.0f, -1.0f, 0.5f});
  check_against_interpreter();
  // A training step changes the parameters and moving statistics: inference follows.
  std::vector<float> target(12, 0.0f);
  for (int i = 0; i < 4; i++) target[size_t(3 * i + i % 3)] = 1;
  jm.train_step({x.data()}, {target.data()}, 4, 0.1f, 0);
  check_against_interpreter();
}
