// Stateful recurrent layers (Keras's `stateful`, truncated BPTT; docs/recurrent.md, "State
// across batches"): a stream cut into two batches of T/2 steps gives the outputs of the
// whole stream of T steps (interpreter and JIT, through the runners); reset_states gives
// back the zero-state result; the gradient of one batch against finite differences with
// the entering state held constant; the emitted C++ and the JIT bit for bit over
// consecutive calls; the errors where a state cannot carry.
#include "gradcheck_helpers.h"
#include "error_of.h"
#include "codegen/jit_backend.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "passes/gradcheck.h"
#include "passes/training.h"
#include "pipeline/pipeline.h"
#include "pipeline/runner.h"
#include "codegen_cpp_helpers.h"

#include <doctest/doctest.h>

#include <functional>

using namespace dlc;

namespace {

// A simple_rnn of 3 units over `steps` steps of 2 features, batch 2; its last state.
std::string rnn_model(int steps, bool stateful, const std::string& type = "simple_rnn") {
  return fmt::format(R"({{"name": "s", "input_shape": [{}, 2], "layers": [
      {{"type": "{}", "name": "r", "units": 3, "stateful": {}}}], "loss": "mse", "batch_size": 2}})",
                     steps, type, stateful ? "true" : "false");
}

frontend::Model model(const std::string& text) { return frontend::load_model_text(text, "model.json"); }

// Rows [n, T, D] -> the steps [from, from + count) of each row, as [n, count, D].
std::vector<float> steps_of(const std::vector<float>& x, int64_t n, int64_t T, int64_t D, int64_t from, int64_t count) {
  std::vector<float> out;
  for (int64_t i = 0; i < n; i++)
    out.insert(out.end(), x.begin() + (i * T + from) * D, x.begin() + (i * T + from + count) * D);
  return out;
}

} // namespace

TEST_CASE("stateful: two batches of T/2 steps give the outputs of the whole stream of T steps (interpreter, JIT)") {
  const int64_t n = 2, T = 6, D = 2, H = 3;
  for (const char* type : {"simple_rnn", "lstm", "gru"}) {
    frontend::Model whole = model(rnn_model(int(T), false, type)), half = model(rnn_model(int(T / 2), true, type));
    std::vector<float> x = test_cpp::random_floats(n * T * D, 11);
    std::vector<float> first = steps_of(x, n, T, D, 0, T / 2), second = steps_of(x, n, T, D, T / 2, T / 2);
    auto reference = pipeline::make_ref_runner(whole, n);
    reference->init(7);
    CHECK_FALSE(reference->stateful());
    std::vector<float> want(size_t(n * H)), zero_state(size_t(n * H));
    reference->infer(x.data(), want.data(), n);
    // The first half alone from zero states: the non-stateful layer over T/2 steps.
    frontend::Model short_model = model(rnn_model(int(T / 2), false, type)); // runners keep a reference
    auto short_ref = pipeline::make_ref_runner(short_model, n);
    short_ref->init(7);
    short_ref->infer(second.data(), zero_state.data(), n);
    for (const char* backend : {"ref", "jit"}) {
      CAPTURE(type);
      CAPTURE(backend);
      auto r = pipeline::make_runner(backend, half, n);
      r->init(7); // the same names and shapes: the same parameters as `reference`
      ir::Bindings params;
      for (auto& [name, t] : reference->values()) params[name] = t;
      r->set_values(params);
      REQUIRE(r->stateful());
      std::vector<float> y1(size_t(n * H)), y2(size_t(n * H)), y3(size_t(n * H));
      r->infer(first.data(), y1.data(), n);
      r->infer(second.data(), y2.data(), n);
      for (size_t i = 0; i < want.size(); i++) CHECK(y2[i] == doctest::Approx(want[i]).epsilon(1e-5));
      // reset_states: the second half from zeros again.
      r->reset_states();
      r->infer(second.data(), y3.data(), n);
      for (size_t i = 0; i < want.size(); i++) CHECK(y3[i] == doctest::Approx(zero_state[i]).epsilon(1e-5));
      CHECK(std::fabs(y3[0] - y2[0]) > 1e-4); // the state did matter
      // Evaluation carries the states too.
      std::vector<float> t(size_t(n * H), 0.0f);
      r->reset_states();
      r->evaluate(first.data(), t.data(), n, y1.data());
      r->evaluate(second.data(), t.data(), n, y2.data());
      for (size_t i = 0; i < want.size(); i++) CHECK(y2[i] == doctest::Approx(want[i]).epsilon(1e-5));
      // Whole batches only.
      CHECK(error_of([&] { r->infer(first.data(), y1.data(), 1); }).find("stateful layers runs whole batches of 2") !=
            std::string::npos);
    }
  }
}

TEST_CASE("stateful: a training step continues the state, and the state is no parameter") {
  const int64_t n = 2, T = 4, D = 2, H = 3;
  frontend::Model m = model(rnn_model(int(T), true, "lstm"));
  frontend::BuiltModel bm = frontend::build_model(m, n);
  // Graph state, not parameters: not trainable, not in a weights file.
  CHECK(bm.graph.states().size() == 2);
  CHECK(bm.graph.value(bm.graph.states()[0]).name == "r.state_h");
  CHECK(bm.graph.value(bm.graph.states()[1]).name == "r.state_c");
  for (ir::ValueId p : bm.graph.params()) CHECK(bm.graph.value(p).name.find("state") == std::string::npos);
  CHECK(bm.graph.updates().size() == 2);
  // The inference program keeps the state's updates, and the training step carries too.
  CHECK(passes::specialize_phase(bm.graph, false).updates().size() == 2);
  for (const char* backend : {"ref", "jit"}) {
    CAPTURE(backend);
    auto a = pipeline::make_runner(backend, m, n), b = pipeline::make_runner(backend, m, n);
    a->init(3);
    b->init(3);
    std::vector<float> x = test_cpp::random_floats(n * T * D, 5), t = test_cpp::random_floats(n * H, 6);
    double first = a->train_step(x.data(), t.data(), n, 0.0, 0, nullptr); // lr 0: only the state changes
    double again = a->train_step(x.data(), t.data(), n, 0.0, 1, nullptr);
    CHECK(again != doctest::Approx(first));
    a->reset_states();
    CHECK(a->train_step(x.data(), t.data(), n, 0.0, 2, nullptr) == doctest::Approx(first).epsilon(1e-6));
    CHECK(b->train_step(x.data(), t.data(), n, 0.0, 0, nullptr) == doctest::Approx(first).epsilon(1e-6));
  }
}

TEST_CASE("stateful: gradcheck of one batch with the entering state held constant") {
  for (const char* type : {"simple_rnn", "lstm", "gru"}) {
    CAPTURE(type);
    frontend::Model m = model(fmt::format(R"({{"input_shape": [3, 2], "layers": [
        {{"type": "{}", "name": "r", "units": 3, "stateful": true, "return_sequences": true}},
        {{"type": "time_distributed", "layer": {{"type": "dense", "units": 2, "activation": "softmax"}}}}],
        "loss": "categorical_crossentropy"}})",
                                          type));
    passes::TrainingGraph tg = passes::build_loss_graph(frontend::build_model(m, 2).graph, m.training, true);
    const ir::Graph& g = tg.graph;
    ir::Bindings b = ir::init_params(g, 1);
    b["input"] = ir::Tensor(g.type(g.inputs()[0]), std::vector<float>(test_cpp::random_floats(2 * 3 * 2, 2)));
    std::vector<float> onehot(2 * 3 * 2, 0.0f);
    for (size_t i = 0; i < onehot.size(); i += 2) onehot[i + (i / 2) % 2] = 1.0f;
    b["target"] = ir::Tensor(g.type(tg.targets.at(0)), onehot);
    double zero_loss = ir::evaluate(g, b, {})[size_t(tg.loss)][0];
    // An entering state as a previous batch leaves it: not zero.
    REQUIRE(!g.states().empty());
    for (ir::ValueId s : g.states()) {
      const ir::TensorType& st = g.type(s);
      b[g.value(s).name] = ir::Tensor(st, test_cpp::random_floats(st.shape.numel(), uint64_t(s) + 20));
    }
    CHECK(ir::evaluate(g, b, {})[size_t(tg.loss)][0] != doctest::Approx(zero_loss));
    std::vector<ir::ValueId> wrt;
    for (ir::ValueId p : g.params()) wrt.push_back(p);
    auto r = passes::check_gradients(g, tg.loss, wrt, b, passes::GradCheckOptions{});
    check_gradients_agree(r);
    // The training graph differentiates w.r.t. the parameters only: no gradient reaches
    // the state (truncation), which its update overwrites after the step.
    passes::TrainingGraph train = passes::build_training_graph(frontend::build_model(m, 2).graph, m.training);
    for (auto& pg : train.grads) CHECK(train.graph.value(pg.param).kind == ir::ValueKind::param);
    int state_updates = 0;
    for (auto& u : train.graph.updates()) state_updates += train.graph.value(u.target).name.rfind("r.state_", 0) == 0;
    CHECK(state_updates == (std::string(type) == "lstm" ? 2 : 1));
  }
}

TEST_CASE("stateful: the JIT and emitted C++ agree bit for bit over consecutive batches and a reset") {
  const int64_t n = 2;
  frontend::Model m = model(R"({"name": "stateful", "input_shape": [3, 2], "layers": [
      {"type": "lstm", "units": 4, "stateful": true, "return_sequences": true},
      {"type": "gru", "units": 3, "stateful": true},
      {"type": "dense", "units": 2}], "loss": "mse", "optimizer": {"type": "sgd", "lr": 0.1}, "batch_size": 2})");
  codegen::CppOptions o;
  o.train = true;
  o.batch = n;
  test_cpp::Build b = test_cpp::build(m, o, "g++", "-O2", "stateful_parity");
  CHECK(test_cpp::read_text(b.dir / "net.h").find("#define NET_STATEFUL 1") != std::string::npos);
  codegen::JitOptions jo;
  jo.contract = false;
  codegen::JitModel jm(pipeline::jit_source(m, n), jo);
  jm.init(5);
  CHECK(jm.recurrent_states().size() == 3);
  std::vector<float> x = test_cpp::random_floats(2 * n * 3 * 2, 1), t = test_cpp::random_floats(2 * n * 2, 2);
  test_cpp::write_floats(b.dir / "x.bin", x);
  test_cpp::write_floats(b.dir / "t.bin", t);
  test_cpp::run(b, "stateful 5 2 x.bin t.bin out.bin");
  std::vector<float> want = test_cpp::read_floats(b.dir / "out.bin"), got, y(size_t(n * 2));
  const float* x2 = x.data() + n * 6;
  auto infer = [&](const float* in) {
    jm.infer({in}, {y.data()}, n);
    got.insert(got.end(), y.begin(), y.end());
  };
  infer(x.data());
  infer(x2);
  jm.reset_states();
  infer(x2);
  jm.reset_states();
  got.push_back(float(jm.train_step({x.data()}, {t.data()}, n, 0.1f, 0)));
  got.push_back(float(jm.train_step({x2}, {t.data() + n * 2}, n, 0.1f, 1)));
  infer(x.data());
  REQUIRE(got.size() == want.size());
  CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
  // The carried state changed the second batch's outputs, and the reset undid it.
  CHECK(std::memcmp(got.data() + 2 * n, got.data() + 4 * n, size_t(2 * n) * sizeof(float)) != 0);
  test_cpp::fs::remove_all(b.dir);
}

TEST_CASE("stateful: bad input") {
  auto err = [](const std::string& text) {
    return error_of([&] { frontend::build_model(frontend::load_model_text(text, "model.json"), 2); });
  };
  CHECK(err(R"({"input_shape": [3, 2], "layers": [{"type": "bidirectional", "layer":
      {"type": "gru", "units": 2, "stateful": true}}]})")
            .find("layers[0].layer.stateful: a stateful layer cannot be wrapped by bidirectional") != std::string::npos);
  CHECK(err(R"({"inputs": [{"name": "x", "shape": [3, 2]}, {"name": "h0", "shape": [2]}], "outputs": "g",
      "layers": [{"type": "gru", "name": "g", "inputs": ["x", "h0"], "units": 2, "stateful": true}]})")
            .find("layer 'g' (gru): a stateful layer carries its own state from one batch to the next; it takes no "
                  "initial-state inputs") != std::string::npos);
  CHECK(err(R"({"input_shape": [3, 2], "layers": [{"type": "lstm", "units": 2, "stateful": 1}]})").find("stateful") !=
        std::string::npos);
}
