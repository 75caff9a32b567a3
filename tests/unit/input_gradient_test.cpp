// Gradients with respect to a model's inputs (issue #19): passes::build_input_gradient_graph
// and the JIT's JitModel::input_gradients. A case worked out by hand, the graph's
// gradients against finite differences (a CNN with max pooling and a two-input model),
// the JIT against the interpreter, and the errors (token ids, no loss, wrong counts).
// Freezing parameters at run time (JitModel::set_frozen), which a GAN's alternating
// steps and fine-tuning schedules use; the emitted set_frozen is checked in
// tests/cli/compile.sh.
#include "codegen/jit_backend.h"
#include "error_of.h"
#include "frontend/model.h"
#include "gradcheck_helpers.h"
#include "ir/interp/interpreter.h"
#include "passes/training.h"
#include "pipeline/pipeline.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;

namespace {

const char* kTwoInputs = R"({"name": "two_in", "inputs": [{"name": "a", "shape": [3]}, {"name": "b", "shape": [2]}],
  "layers": [{"type": "dense", "name": "ha", "inputs": "a", "units": 4, "activation": "tanh"},
             {"type": "concat", "name": "ab", "inputs": ["ha", "b"]},
             {"type": "dense", "name": "out", "inputs": "ab", "units": 3, "activation": "softmax"}],
  "outputs": "out", "loss": "categorical_crossentropy", "batch_size": 4})";

const char* kCnn = R"({"name": "cnn_small", "input_shape": [6, 6, 1],
  "layers": [{"type": "conv2d", "filters": 3, "kernel_size": 3, "activation": "relu"},
             {"type": "max_pool2d", "pool_size": 2}, {"type": "flatten"},
             {"type": "dropout", "rate": 0.5},
             {"type": "dense", "units": 4, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy", "batch_size": 3})";

std::vector<float> values(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v[size_t(i)] = float(std::sin(double(i * 7 + 3) * 0.37 + double(seed)));
  return v;
}

} // namespace

TEST_CASE("input gradients by hand: a linear unit with mse") {
  // u = w . x with w = [1, 2], x = [1, 1], target 0: loss (3 - 0)^2 = 9,
  // d loss / d x = 2 (u - t) w = [6, 12].
  auto m = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1,
      "use_bias": false}], "loss": "mse"})", "m.json");
  codegen::JitModel jm(pipeline::jit_source(m, 1));
  jm.init(0);
  jm.set("dense_1.kernel", {1, 2});
  float x[2] = {1, 1}, t[1] = {0}, g[2] = {0, 0};
  CHECK(jm.input_gradients({x}, {t}, 1, {g}) == doctest::Approx(9));
  CHECK(g[0] == doctest::Approx(6));
  CHECK(g[1] == doctest::Approx(12));
  // Nothing was updated.
  CHECK(jm.get("dense_1.kernel") == std::vector<float>{1, 2});
}

TEST_CASE("input gradients of the graph agree with finite differences") {
  for (const char* text : {kTwoInputs, kCnn}) {
    auto m = frontend::load_model_text(text, "m.json");
    CAPTURE(m.name);
    passes::TrainingGraph tg = passes::build_input_gradient_graph(frontend::build_model(m, 3).graph, m.training);
    ir::Graph& g = tg.graph;
    ir::Bindings b = ir::init_params(g, 1);
    std::vector<ir::ValueId> inputs;
    for (ir::ValueId in : g.inputs()) {
      const std::string& name = g.value(in).name;
      if (name == "target") {
        std::vector<double> t(size_t(g.type(in).shape.numel()), 0.0);
        if (g.type(in).dtype == ir::DType::i32) t = {0, 3, 1};
        else t[0] = t[4] = t[8] = 1; // one-hot rows of 3 classes
        b[name] = ir::Tensor(g.type(in), t);
      } else {
        b[name] = ir::Tensor(g.type(in), values(g.type(in).shape.numel(), inputs.size()));
        inputs.push_back(in);
      }
    }
    CHECK(tg.input_grads.size() == inputs.size());
    passes::GradCheckOptions o;
    o.eval.training = false; // the gradient program is the evaluation phase: no dropout
    check_gradients_agree(passes::check_gradients(g, tg.loss, inputs, b, o));
  }
}

TEST_CASE("the JIT's input gradients match the interpreter's") {
  for (const char* text : {kTwoInputs, kCnn}) {
    auto m = frontend::load_model_text(text, "m.json");
    CAPTURE(m.name);
    int64_t n = 3; // a partial batch of the compiled 4 (two_in) or all 3 (cnn)
    codegen::JitModel jm(pipeline::jit_source(m, m.training.batch_size));
    jm.init(1);
    passes::TrainingGraph tg = passes::build_input_gradient_graph(frontend::build_model(m, n).graph, m.training);
    const ir::Graph& g = tg.graph;
    ir::Bindings b = jm.values();
    std::vector<std::vector<float>> xs, gs;
    for (const codegen::TensorSpec& in : jm.inputs()) {
      int64_t count = in.type.shape.numel() / in.type.shape[0] * n;
      xs.push_back(values(count, xs.size()));
      gs.emplace_back(size_t(count), 0.0f);
      b[in.name] = ir::Tensor(g.type(g.find(in.name)), xs.back());
    }
    const codegen::TensorSpec& ts = jm.targets()[0];
    std::vector<float> t;
    std::vector<int32_t> ids = {0, 3, 1};
    if (ts.type.dtype == ir::DType::i32) {
      t = {0, 3, 1};
    } else {
      t.assign(size_t(n * 3), 0.0f);
      t[0] = t[4] = t[8] = 1;
    }
    b["target"] = ir::Tensor(g.type(tg.targets[0]), t);
    const void* target = ts.type.dtype == ir::DType::i32 ? static_cast<const void*>(ids.data()) : t.data();
    std::vector<const void*> in_ptrs;
    std::vector<void*> grad_ptrs;
    for (size_t k = 0; k < xs.size(); k++) in_ptrs.push_back(xs[k].data()), grad_ptrs.push_back(gs[k].data());
    double loss = jm.input_gradients(in_ptrs, {target}, n, grad_ptrs);
    auto want = ir::run_outputs(g, b);
    for (auto& [name, value] : want) {
      if (name == "loss") CHECK(loss == doctest::Approx(value[0]).epsilon(1e-5));
      for (size_t k = 0; k < jm.inputs().size(); k++)
        if (name == passes::input_grad_name(jm.inputs()[k].name)) {
          REQUIRE(value.numel() == int64_t(gs[k].size()));
          double scale = 1e-12, err = 0;
          for (int64_t i = 0; i < value.numel(); i++) scale = std::max(scale, std::fabs(value[i]));
          for (int64_t i = 0; i < value.numel(); i++) err = std::max(err, std::fabs(gs[k][size_t(i)] - value[i]) / scale);
          INFO(name, ": max relative error ", err);
          CHECK(err <= 1e-5);
        }
    }
  }
}

TEST_CASE("input gradients: token ids get zeros; a model without a loss and wrong counts are errors") {
  auto ids = frontend::load_model_text(R"({"input_shape": [4], "layers": [{"type": "embedding",
      "input_dim": 5, "output_dim": 2}, {"type": "flatten"}, {"type": "dense", "units": 2, "activation": "softmax"}],
      "loss": "sparse_categorical_crossentropy"})", "m.json");
  codegen::JitModel tok(pipeline::jit_source(ids, 1));
  tok.init(0);
  float id[4] = {1, 4, 0, 2}, label[1] = {1}, gid[4] = {7, 7, 7, 7};
  std::vector<int32_t> label_i = {1};
  tok.input_gradients({id}, {label_i.data()}, 1, {gid});
  CHECK(std::vector<float>(gid, gid + 4) == std::vector<float>{0, 0, 0, 0});
  (void)label;
  auto plain = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1}]})", "m.json");
  codegen::JitModel inf(pipeline::jit_source(plain, 1));
  inf.init(0);
  float x[2] = {0, 0}, g[2];
  CHECK(error_of([&] { inf.input_gradients({x}, {}, 1, {g}); }).find("no training section") != std::string::npos);
  auto m = frontend::load_model_text(kTwoInputs, "m.json");
  codegen::JitModel jm(pipeline::jit_source(m, 4));
  jm.init(0);
  CHECK(error_of([&] { jm.input_gradients({x, x}, {x}, 1, {g}); }).find("the model has 2 f32 inputs, 1 gradient arrays") !=
        std::string::npos);
}

TEST_CASE("set_frozen: a training step leaves frozen parameters and their Adam state as they were") {
  auto m = frontend::load_model_text(R"({"name": "two", "input_shape": [3],
    "layers": [{"type": "dense", "name": "a", "units": 4, "activation": "tanh"},
               {"type": "dense", "name": "b", "units": 2}],
    "loss": "mse", "optimizer": {"type": "adam", "lr": 0.01}})", "m.json");
  codegen::JitModel jm(pipeline::jit_source(m, 2));
  jm.init(3);
  std::vector<float> x = values(6, 1), t = values(4, 2);
  CHECK(jm.set_frozen("a.", true) == 2);
  ir::Bindings before = jm.values();
  jm.train_step({x.data()}, {t.data()}, 2, 0.01f, 0);
  ir::Bindings after = jm.values();
  for (const char* name : {"a.kernel", "a.bias", "a.kernel.m", "a.kernel.v", "a.bias.m", "a.bias.v"}) {
    CAPTURE(name);
    REQUIRE(after.count(name));
    CHECK(after.at(name).data == before.at(name).data);
  }
  CHECK(after.at("b.kernel").data != before.at("b.kernel").data);
  CHECK(after.at("b.kernel.m").data != before.at("b.kernel.m").data);
  // Thawed, the next step moves them.
  CHECK(jm.set_frozen("a", false) == 2);
  jm.train_step({x.data()}, {t.data()}, 2, 0.01f, 1);
  CHECK(jm.values().at("a.kernel").data != before.at("a.kernel").data);
  CHECK(error_of([&] { jm.set_frozen("c", true); }).find("set_frozen: no parameter's name starts with 'c'") !=
        std::string::npos);
}
