// The LLVM JIT backend against the reference interpreter: inference of every example
// model (not VGG16: too slow for the interpreter) to 1e-5, one training step's parameter
// updates to 1e-4, 50-step loss curves, partial batches, determinism, and the API's errors.
//
// Tolerances are relative to the scale of each tensor (its largest magnitude): the JIT
// sums in f32 in the runtime kernels' order, the interpreter in double, so element-wise
// relative error is unbounded where a sum cancels to near zero.
#include "codegen/jit_backend.h"
#include "pipeline/pipeline.h"
#include "codegen/llvm/runtime_symbols.h"
#include "frontend/model.h"
#include "ir/error.h"
#include "passes/train_step.h"
#include "passes_test_helpers.h"
#include "runtime/kernels/gemm_parallel.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace dlc;
using codegen::JitModel;

namespace {

frontend::Model example(const std::string& name) {
  return frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json");
}

std::unique_ptr<JitModel> jit_model(const frontend::Model& m, int64_t batch, codegen::JitOptions o = {}) {
  pipeline::Options po;
  po.pass_options.verify_each = true;
  return std::make_unique<JitModel>(pipeline::jit_source(m, batch, po), o);
}

// Deterministic pseudo-random floats in [lo, hi).
std::vector<float> noise(int64_t count, uint64_t seed, float lo = -1, float hi = 1) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + (hi - lo) * float(s >> 40) / 16777216.0f;
  }
  return v;
}

// One batch of n samples: inputs, and a target (one-hot rows, or i32 labels).
struct Batch {
  std::vector<std::vector<float>> inputs;
  std::vector<float> target;
  std::vector<int32_t> labels;
  ir::Bindings bindings; // the same, for the interpreter

  std::vector<const void*> input_ptrs() const {
    std::vector<const void*> p;
    for (auto& x : inputs) p.push_back(x.data());
    return p;
  }
  const void* target_ptr() const { return labels.empty() ? static_cast<const void*>(target.data()) : labels.data(); }
};

ir::TensorType at_batch(ir::TensorType t, int64_t n) {
  t.shape[0] = n;
  return t;
}

Batch make_batch(const JitModel& jm, int64_t n, uint64_t seed) {
  Batch b;
  for (const codegen::TensorSpec& in : jm.inputs()) {
    ir::TensorType t = at_batch(in.type, n);
    b.inputs.push_back(noise(t.shape.numel(), seed++));
    b.bindings[in.name] = ir::Tensor(t, b.inputs.back());
  }
  if (!jm.can_train()) return b;
  codegen::TensorSpec tg = jm.targets()[0];
  ir::TensorType t = at_batch(tg.type, n);
  const ir::Shape& out = jm.outputs()[0].type.shape;
  int64_t classes = out[out.rank() - 1];
  // One class per labelled position: per sample, or per step of a sequence output.
  int64_t rows = t.dtype == ir::DType::i32 ? t.shape.numel() : t.shape.numel() / classes;
  std::vector<float> u = noise(rows, seed, 0, 1);
  if (t.dtype == ir::DType::i32) {
    for (float v : u) b.labels.push_back(int32_t(v * float(classes)));
    b.bindings[tg.name] = ir::Tensor(t, std::vector<double>(b.labels.begin(), b.labels.end()));
    return b;
  }
  b.target.assign(size_t(t.shape.numel()), 0.0f);
  for (int64_t i = 0; i < rows; i++) b.target[size_t(i * classes + int64_t(u[size_t(i)] * float(classes)))] = 1.0f;
  b.bindings[tg.name] = ir::Tensor(t, b.target);
  return b;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// |got - want| <= rel * (the largest |want|) + abs, element by element.
void check_close(const std::vector<double>& got, const std::vector<double>& want, double rel, const std::string& what,
                 double abs = 1e-30) {
  REQUIRE(got.size() == want.size());
  double tol = rel * max_abs(want) + abs, worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size() && !std::isnan(worst); i++) {
    double d = std::fabs(got[i] - want[i]);
    if (std::isnan(d) || d > worst) worst = d, at = i;
  }
  INFO(what << ": worst difference " << worst << " at " << at << " (" << got[at] << " vs " << want[at]
            << "), tolerance " << tol);
  CHECK(worst <= tol);
}

std::vector<double> as_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// The interpreter's outputs of the forward graph at n samples with the JIT's parameters.
std::vector<std::pair<std::string, ir::Tensor>> reference_outputs(const frontend::Model& m, const JitModel& jm,
                                                                 const Batch& b, int64_t n) {
  ir::Bindings bind = jm.values();
  for (auto& [k, v] : b.bindings) bind[k] = v;
  return ir::run_outputs(frontend::build_model(m, n).graph, bind);
}

void check_inference(const frontend::Model& m, const std::string& name, int64_t batch, int64_t n) {
  CAPTURE(name);
  CAPTURE(n);
  auto jm = jit_model(m, batch);
  jm->init(11);
  Batch b = make_batch(*jm, n, 3);
  std::vector<std::vector<float>> out;
  std::vector<void*> out_ptrs;
  for (auto& o : jm->outputs()) out.emplace_back(size_t(at_batch(o.type, n).shape.numel()));
  for (auto& o : out) out_ptrs.push_back(o.data());
  jm->infer(b.input_ptrs(), out_ptrs, n);
  auto want = reference_outputs(m, *jm, b, n);
  REQUIRE(want.size() == out.size());
  for (size_t i = 0; i < out.size(); i++) check_close(as_double(out[i]), want[i].second.data, 1e-5, want[i].first);
}

} // namespace

TEST_CASE("JIT inference agrees with the interpreter on every example model") {
  for (const char* name : {"xo", "mlp", "mlp_relu_adam", "cnn", "residual", "two_inputs_two_outputs",
                           "rnn_small", "lstm_small", "gru_small"}) {
    check_inference(example(name), name, 4, 4);
    check_inference(example(name), name, 4, 3); // a partial batch computes exactly its samples
  }
}

namespace {

// Adam's first step moves a parameter by lr * g / (|g| + epsilon): where the gradient is
// within a few epsilon of zero, that is lr / epsilon times its rounding error (f32 sums in
// the JIT, double in the interpreter), so those elements' parameter updates are not
// compared; their gradients are, through the state m = (1 - beta1) g and v.
const ir::Tensor* adam_m(const ir::OptimizerSpec& opt, const ir::Bindings& values, const std::string& param) {
  if (opt.type != "adam" && opt.type != "nadam") return nullptr;
  auto it = values.find(param + ".m");
  return it == values.end() ? nullptr : &it->second;
}
double ill_conditioned(const ir::OptimizerSpec& opt) { // a bound on |m| after one step
  return 100 * opt.get("epsilon") * (1 - opt.get("beta1"));
}

// One training step of the JIT and of the interpreter (passes/train_step.h) from the same
// parameters on the same n samples; the parameter and state updates must agree.
void check_train_step(const frontend::Model& m, const std::string& name, int64_t batch, int64_t n) {
  CAPTURE(name);
  CAPTURE(n);
  auto jm = jit_model(m, batch);
  jm->init(5);
  Batch b = make_batch(*jm, n, 17);
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, n).graph, m.training);
  passes::TrainState ref = passes::init_train_state(tg, 5);
  ir::Bindings before = jm->values();
  for (auto& [k, v] : before) check_close(v.data, ref.values.at(k).data, 0, "initial " + k); // same initializers
  double lr = passes::scheduled_lr(m.training.optimizer, 0, 0);
  double want = passes::train_step(tg, m.training.optimizer, ref, b.bindings);
  double got = jm->train_step(b.input_ptrs(), {b.target_ptr()}, n, float(lr), 0);
  CHECK(got == doctest::Approx(want).epsilon(1e-5));
  ir::Bindings after = jm->values();
  for (auto& [k, v] : after) {
    const ir::Tensor* m1 = adam_m(m.training.optimizer, after, k);
    std::vector<double> d_got, d_want;
    for (size_t i = 0; i < v.data.size(); i++) {
      if (m1 && std::fabs(ref.values.at(k + ".m").data[i]) < ill_conditioned(m.training.optimizer)) continue;
      d_got.push_back(v.data[i] - before.at(k).data[i]);
      d_want.push_back(ref.values.at(k).data[i] - before.at(k).data[i]);
    }
    check_close(d_got, d_want, 1e-4, "update of " + k, 1e-9);
  }
}

} // namespace

TEST_CASE("one JIT training step updates parameters as the interpreter does, on every example model") {
  for (const char* name : {"xo", "mlp", "mlp_relu_adam", "cnn", "residual", "two_inputs_two_outputs",
                           "rnn_small", "lstm_small", "gru_small"}) {
    frontend::Model m = example(name);
    check_train_step(m, name, 4, 4);
    check_train_step(m, name, 4, 3); // a partial batch: the mean over its 3 samples
  }
}

namespace {

// Recurrent layers are loops (scan): the JIT runs each as one loop over the steps of its
// body's kernels, and the training graph's backward loop in reverse. Configurations
// beyond the examples: one step, a relu cell under a per-step loss, stacked peephole LSTMs
// under Adam, states given by model inputs, a GRU stacked under an RNN.
const char* kRecurrentModels[] = {
    R"({"input_shape": [1, 3], "layers": [{"type": "lstm", "units": 4}, {"type": "dense", "units": 2}],
        "loss": "mse", "optimizer": {"type": "sgd", "lr": 0.1}})",
    R"({"input_shape": [5, 3], "layers": [{"type": "simple_rnn", "units": 4, "activation": "relu", "return_sequences": true},
        {"type": "time_distributed", "layer": {"type": "dense", "units": 3, "activation": "softmax"}}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}})",
    R"({"input_shape": [6, 3], "layers": [{"type": "lstm", "units": 5, "peephole": true, "return_sequences": true},
        {"type": "lstm", "units": 4}, {"type": "dense", "units": 2, "activation": "softmax"}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}})",
    R"({"inputs": [{"name": "x", "shape": [4, 3]}, {"name": "h0", "shape": [4]}, {"name": "c0", "shape": [4]}],
        "outputs": "out", "layers": [
        {"type": "lstm", "name": "enc", "units": 4, "peephole": true, "inputs": ["x", "h0", "c0"]},
        {"type": "dense", "name": "out", "inputs": "enc", "units": 2, "activation": "softmax"}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}})",
    R"({"input_shape": [7, 2], "layers": [{"type": "gru", "units": 3, "return_sequences": true},
        {"type": "simple_rnn", "units": 2, "activation": "sigmoid"}, {"type": "dense", "units": 1, "activation": "sigmoid"}],
        "loss": "binary_crossentropy", "optimizer": {"type": "rmsprop", "lr": 0.01}})",
    R"({"input_shape": [6, 3], "layers": [{"type": "gru", "units": 4, "reset_after": true, "return_sequences": true},
        {"type": "gru", "units": 3, "reset_after": true, "go_backwards": true}, {"type": "dense", "units": 2, "activation": "softmax"}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}})",
    R"({"input_shape": [5, 3], "layers": [{"type": "lstm", "units": 4, "go_backwards": true, "return_sequences": true},
        {"type": "gru", "units": 3, "go_backwards": true}, {"type": "dense", "units": 2, "activation": "softmax"}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}})",
    R"({"input_shape": [3], "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
        {"type": "repeat_vector", "n": 5}, {"type": "lstm", "units": 3, "return_sequences": true},
        {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}})",
    R"({"inputs": [{"name": "src", "shape": [4, 3]}, {"name": "tgt", "shape": [3, 2]}], "outputs": ["out", "enc.c"],
        "layers": [{"type": "lstm", "name": "enc", "inputs": "src", "units": 4, "return_state": true, "go_backwards": true},
        {"type": "lstm", "name": "dec", "inputs": ["tgt", "enc.h", "enc.c"], "units": 4, "return_sequences": true},
        {"type": "time_distributed", "name": "out", "inputs": "dec", "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}})",
    R"({"input_shape": [5, 3], "layers": [
        {"type": "bidirectional", "layer": {"type": "lstm", "units": 3, "return_sequences": true}},
        {"type": "bidirectional", "merge_mode": "ave", "layer": {"type": "gru", "units": 2, "go_backwards": true}},
        {"type": "dense", "units": 2, "activation": "softmax"}],
        "loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}})",
};

} // namespace

TEST_CASE("compiled loops (recurrent layers) agree with the interpreter: inference and a training step") {
  for (const char* text : kRecurrentModels) {
    frontend::Model m = frontend::load_model_text(text, "model.json");
    for (int64_t n : {4, 3}) {
      check_inference(m, text, 4, n);
      check_train_step(m, text, 4, n);
    }
  }
}

namespace {

// Small enough for 50 interpreter steps; dropout (masks keyed by seed and step), integer
// labels and Adam's state are all exercised.
const char* kDropoutModel = R"({
  "input_shape": [6],
  "layers": [{"type": "dense", "units": 16, "activation": "relu"},
             {"type": "dropout", "rate": 0.25},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 8
})";

// The losses of `steps` steps over `batches` fixed batches, by the JIT and the interpreter.
std::pair<std::vector<double>, std::vector<double>> loss_curves(const frontend::Model& m, int64_t batch, int steps) {
  auto jm = jit_model(m, batch);
  jm->init(9);
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, batch).graph, m.training);
  passes::TrainState ref = passes::init_train_state(tg, 9);
  std::vector<Batch> data;
  for (uint64_t k = 0; k < 4; k++) data.push_back(make_batch(*jm, batch, 100 + 10 * k));
  std::vector<double> got, want;
  for (int s = 0; s < steps; s++) {
    const Batch& b = data[size_t(s) % data.size()];
    double lr = passes::scheduled_lr(m.training.optimizer, s, 0);
    want.push_back(passes::train_step(tg, m.training.optimizer, ref, b.bindings));
    got.push_back(jm->train_step(b.input_ptrs(), {b.target_ptr()}, batch, float(lr), s));
  }
  return {got, want};
}

} // namespace

TEST_CASE("50 JIT training steps follow the interpreter's loss curve") {
  for (const char* text : {kDropoutModel, "xo"}) {
    frontend::Model m = std::string(text) == "xo" ? example("xo") : frontend::load_model_text(text, "dropout.json");
    CAPTURE(m.name);
    auto [got, want] = loss_curves(m, m.training.batch_size, 50);
    for (size_t s = 0; s < got.size(); s++) {
      CAPTURE(s);
      CHECK(got[s] == doctest::Approx(want[s]).epsilon(1e-4));
    }
    CHECK(want.back() < want.front()); // it learns: the curves are not flat
  }
}

TEST_CASE("two JIT runs with the same seed are identical; another seed differs") {
  frontend::Model m = frontend::load_model_text(kDropoutModel, "dropout.json");
  auto run = [&](uint64_t seed) {
    auto jm = jit_model(m, 8);
    jm->init(seed);
    Batch b = make_batch(*jm, 8, 1);
    std::vector<double> losses;
    for (int s = 0; s < 5; s++) losses.push_back(jm->train_step(b.input_ptrs(), {b.target_ptr()}, 8, 0.01f, s));
    return std::make_pair(losses, jm->values());
  };
  auto [l1, v1] = run(3);
  auto [l2, v2] = run(3);
  auto [l3, v3] = run(4);
  CHECK(l1 == l2);
  for (auto& [k, t] : v1) CHECK(t.data == v2.at(k).data);
  CHECK(l1 != l3);
}

TEST_CASE("JitModel: persistent values by name, partial-batch bounds, bad labels and inference-only models") {
  frontend::Model m = frontend::load_model_text(kDropoutModel, "dropout.json");
  auto jm = jit_model(m, 8);
  jm->init(1);
  std::vector<std::string> names;
  for (auto& t : jm->persistent()) names.push_back(t.name);
  CHECK(std::find(names.begin(), names.end(), "dense_1.kernel") != names.end());
  CHECK(std::find(names.begin(), names.end(), "dense_1.kernel.m") != names.end()); // optimizer state
  std::vector<float> k = jm->get("dense_1.kernel");
  REQUIRE(k.size() == 6 * 16);
  k[0] = 42;
  jm->set("dense_1.kernel", k);
  CHECK(jm->get("dense_1.kernel")[0] == 42);
  CHECK_THROWS_WITH_AS(jm->get("dense_1.kernal"), doctest::Contains("did you mean 'dense_1.kernel'"), Error);
  CHECK_THROWS_WITH_AS(jm->set("dense_1.bias", {1, 2}), doctest::Contains("has 16 elements, 2 were given"), Error);

  Batch b = make_batch(*jm, 8, 2);
  std::vector<float> out(8 * 3);
  CHECK_THROWS_WITH_AS(jm->infer(b.input_ptrs(), {out.data()}, 9), doctest::Contains("1 to 8"), Error);
  CHECK_THROWS_WITH_AS(jm->infer(b.input_ptrs(), {out.data()}, 0), doctest::Contains("1 to 8"), Error);
  b.labels[3] = 3;
  CHECK_THROWS_WITH_AS(jm->train_step(b.input_ptrs(), {b.target_ptr()}, 8, 0.1f, 0),
                       doctest::Contains("label 3 of sample 3 is outside [0, 3)"), Error);
  // A value set after a training step reaches the next inference (the programs share it).
  b.labels[3] = 0;
  jm->train_step(b.input_ptrs(), {b.target_ptr()}, 8, 0.1f, 0);
  std::vector<float> zeros(16 * 3, 0.0f), bias = {1, 2, 3};
  jm->set("dense_2.kernel", zeros);
  jm->set("dense_2.bias", bias);
  jm->infer(b.input_ptrs(), {out.data()}, 8);
  float e = std::exp(1.0f) + std::exp(2.0f) + std::exp(3.0f);
  CHECK(out[5] == doctest::Approx(std::exp(3.0f) / e)); // softmax of the bias alone

  CHECK(jm->compile_ms() > 0);
  CHECK(jm->llvm_ir(true, false).find("call void @dlc_rt_sparse_softmax_xent_grad(") != std::string::npos);
  CHECK(jm->llvm_ir(false, true).find("\"target-cpu\"=") != std::string::npos);

  frontend::Model no_loss = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1}]})", "m.json");
  auto inf = jit_model(no_loss, 2);
  CHECK_FALSE(inf->can_train());
  CHECK_THROWS_AS(inf->targets(), Error);
  CHECK_THROWS_WITH_AS(inf->evaluate({b.inputs[0].data()}, {nullptr}, 1), doctest::Contains("no training section"), Error);
}

TEST_CASE("every function runtime/c_api.h defines is registered with the JIT") {
  std::ifstream f(std::string(DLC_SOURCE_DIR) + "/runtime/c_api.h");
  std::stringstream text;
  text << f.rdbuf();
  std::string s = text.str();
  std::regex fn(R"(inline\s+[a-z0-9_]+\s+(dlc_rt_[a-z0-9_]+)\s*\()");
  std::set<std::string> registered;
  for (auto& [name, address] : codegen::runtime_symbols()) {
    CHECK(address != nullptr);
    registered.insert(name);
  }
  int found = 0;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), fn); it != std::sregex_iterator(); ++it, found++) {
    CAPTURE((*it)[1].str());
    CHECK(registered.count((*it)[1].str()) == 1);
  }
  CHECK(found > 20);
}

TEST_CASE("fused slice loads (an LSTM cell's gates) compute what the interpreter computes, at partial batches") {
  const int64_t batch = 5;
  codegen::ProgramSource source;
  source.batch = batch;
  source.graph = [](passes::ProgramKind) { return passes::testing::gate_graph(batch); };
  source.compile = [](passes::ProgramKind) { return passes::compile(passes::testing::gate_graph(batch)); };
  JitModel jm(source);
  for (int64_t n : {int64_t(5), int64_t(2)}) {
    CAPTURE(n);
    std::vector<float> z = noise(n * 12, 5, -3, 3), c = noise(n * 4, 6);
    std::vector<float> h(size_t(n * 4)), c2(size_t(n * 4));
    jm.infer({z.data(), c.data()}, {h.data(), c2.data()}, n);
    ir::Graph g = passes::testing::gate_graph(n);
    ir::Bindings bind{{"z", ir::Tensor(g.type(g.find("z")), z)}, {"c", ir::Tensor(g.type(g.find("c")), c)}};
    auto want = ir::run_outputs(g, bind);
    REQUIRE(want.size() == 2);
    check_close(as_double(h), want[0].second.data, 1e-6, "h");
    check_close(as_double(c2), want[1].second.data, 1e-6, "c2");
  }
}

TEST_CASE("JIT training gives the same bits on 1, 2 and 3 threads (split GEMMs and element-wise loops)") {
  // mlp_relu_adam's Adam updates (784x500 and 500x500 parameters) are loops long enough to
  // be split (Loop::grain) and its GEMMs are split by tiles; cnn's convolutions too.
  for (const char* name : {"mlp_relu_adam", "cnn"}) {
    CAPTURE(name);
    frontend::Model m = example(name);
    const int64_t batch = 32;
    auto run = [&](int threads) {
      std::unique_ptr<dlc_rt::ThreadPool> pool;
      if (threads > 1) pool = std::make_unique<dlc_rt::ThreadPool>(threads);
      dlc_rt::default_kernel_pool() = pool.get();
      auto jm = jit_model(m, batch);
      jm->init(5);
      std::vector<double> losses;
      for (int s = 0; s < 3; s++) {
        Batch b = make_batch(*jm, s == 2 ? 19 : batch, uint64_t(s)); // a partial batch too
        losses.push_back(jm->train_step(b.input_ptrs(), {b.target_ptr()}, s == 2 ? 19 : batch, 0.001f, s));
      }
      auto values = jm->values();
      dlc_rt::default_kernel_pool() = nullptr;
      return std::make_pair(losses, values);
    };
    auto [l1, v1] = run(1);
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      auto [l, v] = run(threads);
      CHECK(l == l1);
      for (auto& [k, t] : v1) CHECK(t.data == v.at(k).data);
    }
  }
}
