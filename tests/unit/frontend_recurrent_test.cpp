// Recurrent layers (frontend/layers_recurrent.cpp): the interpreter's values of small
// RNN / LSTM / GRU layers against values worked out by hand (the formulas are in each
// test; the numbers come from evaluating them in double precision), go_backwards against
// the forward layer over the reversed sequence (Keras's definition), repeat_vector,
// return_state (an encoder's states into a decoder), bidirectional (by hand and against
// its Keras definition), the graph's
// structure (one input matmul, one loop per layer, gate gradients joined by concat), the
// steps a compiled loop repeats, the orthogonal and unit-forget-bias initialisers, bad
// input.
#include "gradcheck_helpers.h"
#include "frontend/layers.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "passes/gradcheck.h"
#include "passes/pass_manager.h"
#include "passes/train_step.h"
#include "passes/training.h"
#include "runtime/init.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;
using ir::Shape;

namespace {

frontend::BuiltModel build_text(const std::string& json, int64_t batch = 1) {
  return frontend::build_model(frontend::load_model_text(json, "model.json"), batch);
}

ir::Tensor f32(Shape s, std::vector<double> v) { return ir::Tensor(ir::TensorType{ir::DType::f32, std::move(s)}, std::move(v)); }

// Evaluates the model's first output with the given inputs and parameters.
std::vector<double> run(const frontend::BuiltModel& bm, ir::Bindings b) {
  return ir::run_outputs(bm.graph, b, {})[0].second.data;
}

std::string error_of(const std::string& json) {
  try {
    frontend::load_model_text(json, "model.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Nodes of `op` in `g` and, when `bodies`, in its loops' bodies.
int count_op(const ir::Graph& g, const std::string& op, bool bodies = false) {
  int k = 0;
  for (auto& n : g.nodes()) {
    k += n.op->name == op;
    if (bodies && n.body) k += count_op(*n.body, op, true);
  }
  return k;
}

} // namespace

TEST_CASE("simple_rnn: two steps by hand") {
  // h1 = tanh(0.5*1 + 0.1), h2 = tanh(0.5*2 + 0.1 - 1*h1)
  auto bm = build_text(R"({"input_shape": [2, 1], "layers": [{"type": "simple_rnn", "units": 1,
                           "return_sequences": true}]})");
  CHECK(bm.graph.type(bm.graph.outputs()[0].value).shape == Shape{1, 2, 1});
  auto y = run(bm, {{"input", f32({1, 2, 1}, {1, 2})},
                    {"simple_rnn_1.kernel", f32({1, 1}, {0.5})},
                    {"simple_rnn_1.recurrent_kernel", f32({1, 1}, {-1})},
                    {"simple_rnn_1.bias", f32({1}, {0.1})}});
  CHECK(y[0] == doctest::Approx(0.5370495669980353).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(0.5101632506598711).epsilon(1e-6));
  // One input matmul for both steps, and the recurrent one in the loop's body.
  CHECK(count_op(bm.graph, "matmul") == 1);
  CHECK(count_op(bm.graph, "matmul", true) == 2);
}

TEST_CASE("lstm: two steps by hand (gate order i, f, u, o)") {
  // z = x*W + h*U + b per gate; c = f*c + i*u; h = o*tanh(c), from h = c = 0, x = 1, -2.
  auto bm = build_text(R"({"input_shape": [2, 1], "layers": [{"type": "lstm", "units": 1,
                           "return_sequences": true}]})");
  auto y = run(bm, {{"input", f32({1, 2, 1}, {1, -2})},
                    {"lstm_1.kernel", f32({1, 4}, {0.5, -0.3, 0.8, 0.2})},
                    {"lstm_1.recurrent_kernel", f32({1, 4}, {0.1, 0.4, -0.6, 0.3})},
                    {"lstm_1.bias", f32({4}, {0.0, 1.0, 0.1, -0.2})}});
  CHECK(y[0] == doctest::Approx(0.20924758814315608).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(0.04525899872671151).epsilon(1e-6));
}

TEST_CASE("lstm: peepholes and a given initial state, by hand") {
  // i = σ(z_i + p_i*c0), f = σ(z_f + p_f*c0), c = f*c0 + i*tanh(z_u), o = σ(z_o + p_o*c),
  // h = o*tanh(c) with h0 = 0.5, c0 = -1, x = 1.
  auto bm = build_text(R"({"inputs": [{"name": "x", "shape": [1, 1]}, {"name": "h0", "shape": [1]},
                           {"name": "c0", "shape": [1]}], "outputs": "l",
                           "layers": [{"type": "lstm", "name": "l", "inputs": ["x", "h0", "c0"], "units": 1,
                                       "peephole": true}]})");
  auto y = run(bm, {{"x", f32({1, 1, 1}, {1})}, {"h0", f32({1, 1}, {0.5})}, {"c0", f32({1, 1}, {-1})},
                    {"l.kernel", f32({1, 4}, {0.5, -0.3, 0.8, 0.2})},
                    {"l.recurrent_kernel", f32({1, 4}, {0.1, 0.4, -0.6, 0.3})},
                    {"l.bias", f32({4}, {0.0, 1.0, 0.1, -0.2})},
                    {"l.peephole_i", f32({1}, {0.3})},
                    {"l.peephole_f", f32({1}, {-0.2})},
                    {"l.peephole_o", f32({1}, {0.6})}});
  CHECK(y[0] == doctest::Approx(-0.1977713372335721).epsilon(1e-6));
}

TEST_CASE("gru: two steps from a given state, by hand (reset before the recurrent matmul)") {
  // z = σ(x wz + h uz + bz), r = σ(x wr + h ur + br), h~ = tanh(x wh + (r h) uh + bh),
  // h = z h + (1 - z) h~ (Keras, PyTorch) from h0 = 0.3, x = 1, 0.5.
  auto bm = build_text(R"({"inputs": [{"name": "x", "shape": [2, 1]}, {"name": "h0", "shape": [1]}],
                           "outputs": "g", "layers": [{"type": "gru", "name": "g", "inputs": ["x", "h0"],
                           "units": 1, "return_sequences": true}]})");
  auto y = run(bm, {{"x", f32({1, 2, 1}, {1, 0.5})}, {"h0", f32({1, 1}, {0.3})},
                    {"g.kernel", f32({1, 3}, {0.4, -0.5, 0.9})},
                    {"g.recurrent_kernel", f32({1, 3}, {0.2, 0.7, -0.4})},
                    {"g.bias", f32({3}, {0.1, 0, -0.1})}});
  CHECK(y[0] == doctest::Approx(0.4215472279495841).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(0.3552303531023149).epsilon(1e-6));
}

TEST_CASE("gru reset_after: two steps by hand, as PyTorch's nn.GRU computes them") {
  // z = σ(x wz + bz + h uz + b'z), r = σ(x wr + br + h ur + b'r),
  // h~ = tanh(x wh + bh + r (h uh + b'h)), h = z h + (1 - z) h~; the bias is [2, 3]
  // (row 1 is b'). PyTorch 1.13's nn.GRU given the same weights (gates reordered r, z, n)
  // gives 0.4410175085, 0.4195571542.
  auto bm = build_text(R"({"inputs": [{"name": "x", "shape": [2, 1]}, {"name": "h0", "shape": [1]}],
                           "outputs": "g", "layers": [{"type": "gru", "name": "g", "inputs": ["x", "h0"],
                           "units": 1, "return_sequences": true, "reset_after": true}]})");
  CHECK(bm.graph.type(bm.graph.find("g.bias")).shape == Shape{2, 3});
  auto y = run(bm, {{"x", f32({1, 2, 1}, {1, 0.5})}, {"h0", f32({1, 1}, {0.3})},
                    {"g.kernel", f32({1, 3}, {0.4, -0.5, 0.9})},
                    {"g.recurrent_kernel", f32({1, 3}, {0.2, 0.7, -0.4})},
                    {"g.bias", f32({2, 3}, {0.1, 0, -0.1, 0.05, -0.2, 0.3})}});
  CHECK(y[0] == doctest::Approx(0.4410175031906181).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(0.4195571543931641).epsilon(1e-6));
}

TEST_CASE("go_backwards: simple_rnn by hand, the steps returned in the order they ran (Keras)") {
  // The steps run x = 2 then x = 1: h_a = tanh(0.5*2 + 0.1), h_b = tanh(0.5*1 + 0.1 - h_a).
  // Output index 0 is h_a (after the last input step); the last state is h_b.
  for (bool sequences : {true, false}) {
    CAPTURE(sequences);
    auto bm = build_text(fmt::format(R"({{"input_shape": [2, 1], "layers": [{{"type": "simple_rnn", "units": 1,
                                         "go_backwards": true, "return_sequences": {}}}]}})", sequences));
    auto y = run(bm, {{"input", f32({1, 2, 1}, {1, 2})},
                      {"simple_rnn_1.kernel", f32({1, 1}, {0.5})},
                      {"simple_rnn_1.recurrent_kernel", f32({1, 1}, {-1})},
                      {"simple_rnn_1.bias", f32({1}, {0.1})}});
    std::vector<double> want = {0.8004990217606297, -0.19785485431499095};
    if (!sequences) want = {want[1]};
    REQUIRE(y.size() == want.size());
    for (size_t i = 0; i < y.size(); i++) CHECK(y[i] == doctest::Approx(want[i]).epsilon(1e-6));
    CHECK(count_op(bm.graph, "reverse") == int(sequences));
  }
}

TEST_CASE("go_backwards is the layer over the reversed sequence, for every cell") {
  // Keras's definition: the layer reverses its input along time and runs forwards, so even
  // the stacked steps match those of the forward layer given the reversed input, exactly.
  for (std::string layer : {R"("type": "simple_rnn", "units": 3)", R"("type": "lstm", "units": 3, "peephole": true)",
                            R"("type": "gru", "units": 3)"})
    for (bool sequences : {true, false}) {
      CAPTURE(layer);
      CAPTURE(sequences);
      auto model = [&](bool backwards) {
        return build_text(fmt::format(R"({{"input_shape": [4, 2], "layers": [{{"name": "r", {},
                                          "go_backwards": {}, "return_sequences": {}}}]}})",
                                      layer, backwards, sequences), 2);
      };
      auto backwards = model(true), forwards = model(false);
      ir::Bindings b = ir::init_params(backwards.graph, 5);
      for (auto& [name, t] : b)
        for (size_t i = 0; i < t.data.size(); i++) t.data[i] += 0.1 * std::sin(double(i)); // no zero peepholes
      std::vector<double> x(16), reversed(16);
      for (size_t i = 0; i < x.size(); i++) x[i] = std::cos(double(i) * 0.7);
      for (int64_t a = 0; a < 2; a++)
        for (int64_t t = 0; t < 4; t++)
          for (int64_t d = 0; d < 2; d++) reversed[size_t((a * 4 + t) * 2 + d)] = x[size_t((a * 4 + 3 - t) * 2 + d)];
      ir::Bindings bf = b;
      b["input"] = f32({2, 4, 2}, x);
      bf["input"] = f32({2, 4, 2}, reversed);
      CHECK(run(backwards, b) == run(forwards, bf));
      for (auto& n : backwards.graph.nodes())
        if (n.op->name == "scan") CHECK(n.attrs.get_bool("reverse", false));
    }
}

TEST_CASE("return_state: an lstm's final h and c are outputs 'l.h' and 'l.c', by hand") {
  // The two steps of "lstm: two steps by hand": h = 0.2092, 0.0453; c = 0.4459, 0.1233.
  auto bm = build_text(R"({"inputs": [{"name": "x", "shape": [2, 1]}], "outputs": ["l", "l.h", "l.c"],
                           "layers": [{"type": "lstm", "name": "l", "inputs": "x", "units": 1,
                                       "return_sequences": true, "return_state": true}]})");
  auto out = ir::run_outputs(bm.graph, {{"x", f32({1, 2, 1}, {1, -2})},
                                        {"l.kernel", f32({1, 4}, {0.5, -0.3, 0.8, 0.2})},
                                        {"l.recurrent_kernel", f32({1, 4}, {0.1, 0.4, -0.6, 0.3})},
                                        {"l.bias", f32({4}, {0.0, 1.0, 0.1, -0.2})}},
                                 {});
  REQUIRE(out.size() == 3);
  CHECK(out[1].first == "l.h");
  CHECK(out[2].first == "l.c");
  CHECK(out[0].second.data[1] == doctest::Approx(0.04525899872671151).epsilon(1e-6));
  CHECK(out[1].second.data == std::vector<double>{out[0].second.data[1]});
  CHECK(out[2].second.data[0] == doctest::Approx(0.12333010164436697).epsilon(1e-6));
  // The states are the loop's carried results: no node computes them.
  CHECK(count_op(bm.graph, "scan") == 1);
  CHECK(bm.layers[0].extra_outputs.size() == 2);
}

TEST_CASE("return_state: a decoder started from an encoder's states is the decoder given them as inputs") {
  for (std::string type : {"lstm", "gru", "simple_rnn"}) {
    CAPTURE(type);
    bool lstm = type == "lstm";
    std::string states = lstm ? R"("enc.h", "enc.c")" : R"("enc.h")";
    auto seq2seq = build_text(fmt::format(R"({{"inputs": [{{"name": "src", "shape": [3, 2]}}, {{"name": "tgt", "shape": [4, 2]}}],
        "outputs": ["dec", {0}], "layers": [
        {{"type": "{1}", "name": "enc", "inputs": "src", "units": 3, "return_state": true, "go_backwards": true}},
        {{"type": "{1}", "name": "dec", "inputs": ["tgt", {0}], "units": 3, "return_sequences": true}}]}})",
                                          states, type), 2);
    auto decoder = build_text(fmt::format(R"({{"inputs": [{{"name": "tgt", "shape": [4, 2]}}, {{"name": "h0", "shape": [3]}}{0}],
        "outputs": "dec", "layers": [
        {{"type": "{1}", "name": "dec", "inputs": ["tgt", "h0"{2}], "units": 3, "return_sequences": true}}]}})",
                                          lstm ? R"(, {"name": "c0", "shape": [3]})" : "", type, lstm ? R"(, "c0")" : ""), 2);
    ir::Bindings b = ir::init_params(seq2seq.graph, 3);
    std::vector<double> src(12), tgt(16);
    for (size_t i = 0; i < src.size(); i++) src[i] = std::sin(double(i));
    for (size_t i = 0; i < tgt.size(); i++) tgt[i] = std::cos(double(i));
    b["src"] = f32({2, 3, 2}, src);
    b["tgt"] = f32({2, 4, 2}, tgt);
    auto out = ir::run_outputs(seq2seq.graph, b, {});
    REQUIRE(out.size() == (lstm ? 3u : 2u));
    CHECK(out[1].first == "enc.h");
    ir::Bindings d = b;
    d["h0"] = out[1].second;
    if (lstm) d["c0"] = out[2].second;
    CHECK(ir::run_outputs(decoder.graph, d, {})[0].second.data == out[0].second.data);
    // The states matter: from zeros, the decoder computes something else.
    for (const char* k : {"h0", "c0"})
      if (d.count(k)) d[k] = f32({2, 3}, std::vector<double>(6, 0.0));
    CHECK(ir::run_outputs(decoder.graph, d, {})[0].second.data != out[0].second.data);
  }
}

TEST_CASE("bidirectional: simple_rnn both ways, every merge mode, by hand") {
  // Both directions with the weights of "simple_rnn: two steps by hand" over x = 1, 2.
  // Forward: 0.5370, 0.5102. Backward (x = 2 first): 0.8005 at step 1, -0.1979 at step 0.
  std::vector<double> f = {0.5370495669980353, 0.5101632506598711}, b = {-0.19785485431499095, 0.8004990217606297};
  struct Case {
    const char* mode;
    bool sequences;
    std::vector<double> want;
  };
  for (const Case& k : std::vector<Case>{{"concat", true, {f[0], b[0], f[1], b[1]}},
                                         {"concat", false, {f[1], b[0]}},
                                         {"sum", true, {f[0] + b[0], f[1] + b[1]}},
                                         {"ave", true, {(f[0] + b[0]) / 2, (f[1] + b[1]) / 2}},
                                         {"mul", true, {f[0] * b[0], f[1] * b[1]}},
                                         {"mul", false, {f[1] * b[0]}}}) {
    CAPTURE(k.mode);
    CAPTURE(k.sequences);
    auto bm = build_text(fmt::format(R"({{"input_shape": [2, 1], "layers": [{{"type": "bidirectional", "name": "bi",
        "merge_mode": "{}", "layer": {{"type": "simple_rnn", "units": 1, "return_sequences": {}}}}}]}})",
                                     k.mode, k.sequences));
    ir::Bindings p{{"input", f32({1, 2, 1}, {1, 2})}};
    for (const char* dir : {"forward", "backward"}) {
      p[fmt::format("bi.{}.kernel", dir)] = f32({1, 1}, {0.5});
      p[fmt::format("bi.{}.recurrent_kernel", dir)] = f32({1, 1}, {-1});
      p[fmt::format("bi.{}.bias", dir)] = f32({1}, {0.1});
    }
    auto y = run(bm, p);
    REQUIRE(y.size() == k.want.size());
    for (size_t i = 0; i < y.size(); i++) CHECK(y[i] == doctest::Approx(k.want[i]).epsilon(1e-6));
    CHECK(bm.layers[0].params.size() == 6);
    CHECK(count_op(bm.graph, "scan") == 2);
    CHECK(count_op(bm.graph, "reverse") == 0); // the backward loop's steps are already in place
  }
}

TEST_CASE("bidirectional is Keras's: the forward layer and the other-way layer's output flipped") {
  // Keras's Bidirectional runs the wrapped layer and a copy with go_backwards negated, and
  // flips the copy's steps before merging. Here both as layers of their own, with the
  // bidirectional layer's weights and initial states.
  for (std::string type : {"lstm", "gru"})
    for (bool gb : {false, true}) {
      CAPTURE(type);
      CAPTURE(gb);
      bool lstm = type == "lstm";
      std::string fs = lstm ? R"("s1", "s2")" : R"("s1")", bs = lstm ? R"("s3", "s4")" : R"("s3")";
      std::string layer = fmt::format(R"("type": "{}", "units": 3, "return_sequences": true, "return_state": true)", type);
      auto bm = build_text(fmt::format(R"({{"inputs": [{{"name": "x", "shape": [4, 2]}}, {{"name": "s1", "shape": [3]}},
          {{"name": "s2", "shape": [3]}}, {{"name": "s3", "shape": [3]}}, {{"name": "s4", "shape": [3]}}],
          "outputs": ["bi", "fw", "bw", "bi.forward.h", "bi.backward.h", "fw.h", "bw.h"], "layers": [
          {{"type": "bidirectional", "name": "bi", "inputs": ["x", {0}, {1}], "layer": {{{2}, "go_backwards": {3}}}}},
          {{"name": "fw", "inputs": ["x", {0}], {2}, "go_backwards": {3}}},
          {{"name": "bw", "inputs": ["x", {1}], {2}, "go_backwards": {4}}}]}})",
                                       fs, bs, layer, gb, !gb), 2);
      ir::Bindings b = ir::init_params(bm.graph, 4);
      for (const char* w : {"kernel", "recurrent_kernel", "bias"}) {
        b[fmt::format("fw.{}", w)] = b.at(fmt::format("bi.forward.{}", w));
        b[fmt::format("bw.{}", w)] = b.at(fmt::format("bi.backward.{}", w));
      }
      std::vector<double> x(16), s(6);
      for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(double(i) * 1.3);
      b["x"] = f32({2, 4, 2}, x);
      for (int k = 1; k <= 4; k++) {
        for (size_t i = 0; i < s.size(); i++) s[i] = 0.1 * double(k) * std::cos(double(i));
        b[fmt::format("s{}", k)] = f32({2, 3}, s);
      }
      auto out = ir::run_outputs(bm.graph, b, {});
      const auto &bi = out[0].second.data, &fw = out[1].second.data, &bw = out[2].second.data;
      REQUIRE(bi.size() == 2 * 4 * 6);
      for (size_t a = 0; a < 2; a++)
        for (size_t t = 0; t < 4; t++)
          for (size_t h = 0; h < 3; h++) {
            CHECK(bi[(a * 4 + t) * 6 + h] == fw[(a * 4 + t) * 3 + h]);
            CHECK(bi[(a * 4 + t) * 6 + 3 + h] == bw[(a * 4 + 3 - t) * 3 + h]);
          }
      CHECK(out[3].second.data == out[5].second.data);
      CHECK(out[4].second.data == out[6].second.data);
    }
}

TEST_CASE("repeat_vector: the input at every step, by hand") {
  auto bm = build_text(R"({"input_shape": [2], "layers": [{"type": "repeat_vector", "n": 3}]})", 2);
  CHECK(bm.graph.type(bm.graph.outputs()[0].value).shape == Shape{2, 3, 2});
  CHECK(run(bm, {{"input", f32({2, 2}, {1, 2, 3, 4})}}) == std::vector<double>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  CHECK(bm.layers[0].params.empty());
}

TEST_CASE("recurrent layers: shapes, stacking, time_distributed and parameter names") {
  auto bm = build_text(R"({"input_shape": [7, 3], "layers": [
      {"type": "lstm", "units": 5, "return_sequences": true, "peephole": true},
      {"type": "gru", "units": 4, "return_sequences": true},
      {"type": "simple_rnn", "units": 2, "return_sequences": true},
      {"type": "time_distributed", "name": "tags", "layer": {"type": "dense", "units": 6, "activation": "softmax"}}]})",
                       3);
  const ir::Graph& g = bm.graph;
  CHECK(g.type(g.outputs()[0].value).shape == Shape{3, 7, 6});
  CHECK(g.type(g.find("lstm_1.kernel")).shape == Shape{3, 20});
  CHECK(g.type(g.find("lstm_1.recurrent_kernel")).shape == Shape{5, 20});
  CHECK(g.type(g.find("lstm_1.bias")).shape == Shape{20});
  CHECK(g.type(g.find("lstm_1.peephole_o")).shape == Shape{5});
  CHECK(g.type(g.find("gru_1.recurrent_kernel")).shape == Shape{4, 12});
  CHECK(g.type(g.find("tags.kernel")).shape == Shape{2, 6});
  CHECK(g.value(g.find("lstm_1.recurrent_kernel")).init.kind == "orthogonal");
  CHECK(g.value(g.find("lstm_1.bias")).init.kind == "unit_forget_bias");
  CHECK(g.value(g.find("gru_1.bias")).init.kind == "zeros");
  // Per layer one input matmul and a loop whose body has the recurrent one (GRU: two),
  // plus the dense.
  CHECK(count_op(g, "scan") == 3);
  CHECK(count_op(g, "matmul") == 3 + 1);
  CHECK(count_op(g, "matmul", true) == 3 + 1 + (1 + 2 + 1));
}

// The steps a compiled loop repeats per time step: runtime calls and element-wise loops.
std::pair<int, int> repeated_steps(const passes::Program& p) {
  int calls = 0, loops = 0;
  for (const passes::Kernel& k : p.kernels)
    for (const passes::Step& s : k.steps)
      for (const passes::Step& r : s.repeat.steps) (r.kind == passes::StepKind::call ? calls : loops)++;
  return {calls, loops};
}

TEST_CASE("compiled loop: a step of an LSTM is its recurrent matmul and a few element-wise loops") {
  auto bm = build_text(R"({"input_shape": [4, 3], "layers": [{"type": "lstm", "units": 5, "peephole": true}]})", 2);
  // One GEMM; the step's slice of xw copied in, the gate math, h and c carried over.
  auto [calls, loops] = repeated_steps(passes::compile(bm.graph));
  CHECK(calls == 1);
  CHECK(loops <= 6);
  // A GRU step: two GEMMs (the candidate's reads r ⊙ h).
  auto gru = build_text(R"({"input_shape": [4, 3], "layers": [{"type": "gru", "units": 5}]})", 2);
  CHECK(repeated_steps(passes::compile(gru.graph)).first == 2);
  // reset_after: one (the reset gate scales the product h·U_h).
  auto gru_after = build_text(R"({"input_shape": [4, 3], "layers": [{"type": "gru", "units": 5, "reset_after": true}]})", 2);
  CHECK(repeated_steps(passes::compile(gru_after.graph)).first == 1);
}

TEST_CASE("initialisers: orthogonal and unit_forget_bias") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{4, 12}, {6, 3}, {5, 5}}) {
    CAPTURE(rows);
    CAPTURE(cols);
    std::vector<float> w(size_t(rows * cols));
    dlc_rt::fill_init(dlc_rt::InitKind::orthogonal, 0, false, rows, cols, 7, 3, w.data(), int64_t(w.size()));
    // rows < cols: W Wᵀ = I; else Wᵀ W = I.
    int64_t k = std::min(rows, cols);
    for (int64_t a = 0; a < k; a++)
      for (int64_t b = 0; b < k; b++) {
        double dot = 0;
        for (int64_t i = 0; i < std::max(rows, cols); i++)
          dot += rows < cols ? double(w[size_t(a * cols + i)]) * w[size_t(b * cols + i)]
                             : double(w[size_t(i * cols + a)]) * w[size_t(i * cols + b)];
        CHECK(dot == doctest::Approx(a == b ? 1.0 : 0.0).epsilon(1e-5).scale(1));
      }
  }
  std::vector<float> b(8);
  dlc_rt::fill_init(dlc_rt::InitKind::unit_forget_bias, 0, false, 2, 8, 1, 1, b.data(), 8);
  CHECK(b == std::vector<float>{0, 0, 1, 1, 0, 0, 0, 0});
}

TEST_CASE("recurrent training graph: slices of one value get one concat, not zero-padded sums") {
  frontend::Model m = frontend::load_model_text(R"({"input_shape": [4, 2], "layers": [
      {"type": "lstm", "units": 3}, {"type": "dense", "units": 2, "activation": "softmax"}],
      "loss": "categorical_crossentropy"})", "model.json");
  auto tg = passes::build_training_graph(frontend::build_model(m, 2).graph, m.training);
  // The backward loop's body joins the gradients of the step's 4 gate slices of z.
  int joins = 0, loops = 0;
  for (auto& n : tg.graph.nodes())
    if (n.body && n.attrs.get_bool("reverse", false)) {
      loops++;
      for (auto& b : n.body->nodes()) joins += b.name.find("grad_join") != std::string::npos;
    }
  CHECK(loops == 1);
  CHECK(joins == 1);
}

TEST_CASE("per-step classification: the loss is the mean over batch * steps") {
  frontend::Model m = frontend::load_model_text(R"({"input_shape": [3, 2], "layers": [
      {"type": "simple_rnn", "units": 4, "return_sequences": true},
      {"type": "time_distributed", "layer": {"type": "dense", "units": 3, "activation": "softmax"}}],
      "loss": "sparse_categorical_crossentropy"})", "model.json");
  auto tg = passes::build_loss_graph(frontend::build_model(m, 2).graph, m.training);
  CHECK(tg.graph.type(tg.targets.at(0)) == ir::TensorType{ir::DType::i32, Shape{2, 3}});
  // All-zero weights: every position predicts 1/3 for each class, so the loss is log 3.
  ir::Bindings b = ir::init_params(tg.graph, 1);
  for (auto& [name, t] : b)
    for (double& v : t.data) v = 0;
  b["input"] = f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  b["target"] = ir::Tensor(ir::TensorType{ir::DType::i32, Shape{2, 3}}, {0, 1, 2, 2, 1, 0});
  double loss = 0;
  for (auto& [name, t] : ir::run_outputs(tg.graph, b, {}))
    if (name == "loss") loss = t.data[0];
  CHECK(loss == doctest::Approx(std::log(3.0)).epsilon(1e-6));
}

TEST_CASE("clipping by global norm is active in the recurrent examples' first step") {
  // rnn_small (SGD) clips to a norm of 0.05, below its first gradient's norm, so the JIT
  // and emitted C++ parity tests compare clipped updates. With SGD the step is
  // -lr * g * 0.05 / |g|: its own norm is lr * 0.05.
  for (std::string name : {"rnn_small"}) {
    CAPTURE(name);
    frontend::Model m = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json");
    auto tg = passes::build_training_graph(frontend::build_model(m, 2).graph, m.training);
    passes::TrainState st = passes::init_train_state(tg, 3);
    ir::Bindings batch = st.values, before = st.values;
    const ir::TensorType& in = tg.graph.type(tg.graph.find("input"));
    batch["input"] = ir::Tensor(in, std::vector<double>(size_t(in.shape.numel()), 0.5));
    const ir::TensorType& tt = tg.graph.type(tg.targets.at(0));
    ir::Tensor target(tt);
    for (int64_t i = 0; i < target.numel(); i++) target[i] = tt.dtype == ir::DType::i32 ? double(i % 3) : (i % 3 == 0);
    batch["target"] = target;
    batch["lr"] = f32({}, {0.1});
    auto env = ir::evaluate(tg.graph, batch, {});
    double scale = env[size_t(tg.graph.find("opt.clip_scale"))][0];
    CHECK(scale < 0.5);
    passes::train_step(tg, m.training.optimizer, st, batch);
    double sq = 0;
    for (auto& [k, t] : before)
      for (size_t i = 0; i < t.data.size(); i++) sq += std::pow(st.values.at(k).data[i] - t.data[i], 2);
    CHECK(std::sqrt(sq) == doctest::Approx(0.1 * 0.05).epsilon(1e-4));
  }
}

TEST_CASE("gradcheck: recurrent layers with peepholes, given states, go_backwards, repeat_vector, return_state, bidirectional and per-step losses") {
  for (const char* text : {
           R"({"inputs": [{"name": "x", "shape": [3, 2]}, {"name": "h0", "shape": [3]}, {"name": "c0", "shape": [3]}],
               "outputs": "out", "layers": [
               {"type": "lstm", "name": "l", "inputs": ["x", "h0", "c0"], "units": 3, "peephole": true,
                "return_sequences": true},
               {"type": "time_distributed", "name": "out", "inputs": "l",
                "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
               "loss": "categorical_crossentropy"})",
           R"({"inputs": [{"name": "src", "shape": [3, 2]}, {"name": "tgt", "shape": [2, 2]}], "outputs": "out",
               "layers": [
               {"type": "lstm", "name": "enc", "inputs": "src", "units": 3, "return_state": true},
               {"type": "lstm", "name": "dec", "inputs": ["tgt", "enc.h", "enc.c"], "units": 3, "return_sequences": true},
               {"type": "time_distributed", "name": "out", "inputs": "dec",
                "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
               "loss": "categorical_crossentropy"})",
           R"({"inputs": [{"name": "x", "shape": [3, 2]}], "outputs": ["enc.h", "enc"], "layers": [
               {"type": "gru", "name": "enc", "inputs": "x", "units": 2, "return_state": true, "go_backwards": true}],
               "loss": "mse"})",
           R"({"input_shape": [3, 2], "layers": [
               {"type": "bidirectional", "layer": {"type": "lstm", "units": 2, "return_sequences": true, "peephole": true}},
               {"type": "bidirectional", "merge_mode": "ave", "layer": {"type": "gru", "units": 2, "return_sequences": true}},
               {"type": "bidirectional", "merge_mode": "mul", "layer": {"type": "simple_rnn", "units": 2, "go_backwards": true}},
               {"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy"})",
           R"({"inputs": [{"name": "src", "shape": [3, 2]}, {"name": "tgt", "shape": [2, 2]}], "outputs": "dec",
               "layers": [
               {"type": "bidirectional", "name": "enc", "inputs": "src", "merge_mode": "sum",
                "layer": {"type": "gru", "units": 2, "return_state": true}},
               {"type": "concat", "name": "state", "inputs": ["enc.forward.h", "enc.backward.h"]},
               {"type": "gru", "name": "dec", "inputs": ["tgt", "state"], "units": 4}],
               "loss": "mse"})",
           R"({"input_shape": [3], "layers": [
               {"type": "dense", "units": 2, "activation": "tanh"},
               {"type": "repeat_vector", "n": 4},
               {"type": "gru", "units": 3, "return_sequences": true},
               {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
               "loss": "categorical_crossentropy"})",
           R"({"input_shape": [4, 2], "layers": [
               {"type": "lstm", "units": 3, "go_backwards": true, "return_sequences": true},
               {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
               "loss": "categorical_crossentropy"})",
           R"({"input_shape": [4, 2], "layers": [
               {"type": "gru", "units": 3, "go_backwards": true, "return_sequences": true},
               {"type": "simple_rnn", "units": 2, "go_backwards": true},
               {"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy"})",
           R"({"input_shape": [4, 2], "layers": [
               {"type": "gru", "units": 3, "return_sequences": true, "reset_after": true},
               {"type": "gru", "units": 2, "reset_after": true, "use_bias": false, "go_backwards": true},
               {"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy"})",
           R"({"input_shape": [4, 2], "layers": [
               {"type": "gru", "units": 3, "return_sequences": true},
               {"type": "simple_rnn", "units": 2, "activation": "sigmoid"},
               {"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy"})"}) {
    frontend::Model m = frontend::load_model_text(text, "model.json");
    passes::GradCheckOptions opt;
    auto r = passes::check_model_gradients(frontend::build_model(m, 2).graph, m.training, opt);
    check_gradients_agree(r);
  }
}

TEST_CASE("recurrent layers: bad input") {
  CHECK(error_of(R"({"input_shape": [4], "layers": [{"type": "lstm", "units": 3}]})") ==
        "model.json:1:33: layers[0]: layer 'lstm_1' (lstm) needs a sequence input [batch, time, features] of floats, but "
        "input 'input' gives f32[1,4]");
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "gru", "units": 0}]})") ==
        "model.json:1:61: layers[0].units: expected a positive integer, got 0");
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "simple_rnn", "units": 2, "return_sequence": true}]})")
            .find("did you mean 'return_sequences'?") != std::string::npos);
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "lstm", "units": 2, "activation": "tanhh"}]})")
            .find("layers[0].activation: unknown activation 'tanhh' for a recurrent cell, did you mean 'tanh'?") != std::string::npos);
  CHECK(error_of(R"({"inputs": [{"name": "x", "shape": [3, 2]}, {"name": "h0", "shape": [4]}], "outputs": "g",
                     "layers": [{"type": "gru", "name": "g", "inputs": ["x", "h0"], "units": 3}]})")
            .find("layer 'g' (gru) needs an initial hidden state [batch, 3] of floats, but input 'h0' gives f32[1,4]") !=
        std::string::npos);
  const char* enc = R"({"inputs": [{"name": "x", "shape": [3, 2]}], "outputs": OUT, "layers": [
      {"type": "TYPE", "name": "enc", "inputs": "x", "units": 3, STATE},
      {"type": "dense", "name": "d", "inputs": "READ", "units": 2}]})";
  auto states = [&](std::string type, std::string state, std::string read, std::string out = "\"d\"") {
    std::string t = enc;
    for (auto [k, v] : {std::pair<std::string, std::string>{"TYPE", type}, {"STATE", state}, {"READ", read}, {"OUT", out}})
      t.replace(t.find(k), k.size(), v);
    return error_of(t);
  };
  CHECK(states("gru", R"("return_state": true)", "enc.c") ==
        "model.json:3:48: layers[1].inputs: layer 'd' reads 'enc.c', but layer 'enc' (gru) has 2 outputs: 'enc', 'enc.h'");
  CHECK(states("lstm", R"("return_state": false)", "enc.h") ==
        "model.json:3:48: layers[1].inputs: layer 'd' reads 'enc.h', but layer 'enc' (lstm) has one output, 'enc' "
        "(its final states are outputs too with \"return_state\": true)");
  CHECK(states("lstm", R"("return_state": true)", "enc.x").find("has 3 outputs: 'enc', 'enc.h', 'enc.c'") !=
        std::string::npos);
  CHECK(states("lstm", R"("return_state": true)", "enc", R"(["d", "enc.cc"])") ==
        "model.json:1:63: outputs[1]: output 'enc.cc' is none of its layer's outputs: layer 'enc' (lstm) has 3 outputs: "
        "'enc', 'enc.h', 'enc.c'");
  CHECK(states("lstm", R"("return_state": true)", "d.h").find("layer 'd' reads its own output") != std::string::npos);
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "lstm", "units": 2, "return_state": true}]})") ==
        "model.json:1:36: layers[0]: layer 'lstm_1' (lstm) returns its states as outputs of their own ('lstm_1.h'), "
        "which only the graph form's layers and outputs can read; use \"inputs\"/\"outputs\" or drop return_state");
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "bidirectional", "layer": {"type": "dense", "units": 2}}]})") ==
        "model.json:1:80: layers[0].layer.type: bidirectional wraps a simple_rnn, lstm or gru layer, not 'dense'");
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "bidirectional", "merge_mode": "avg",
                     "layer": {"type": "gru", "units": 2}}]})") ==
        "model.json:1:76: layers[0].merge_mode: unknown merge_mode 'avg', did you mean 'ave'?");
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "bidirectional", "layer": {"type": "gru", "units": 2,
                     "name": "g"}}]})")
            .find("layers[0].layer.name: unknown attribute 'name' for the layer wrapped by bidirectional") != std::string::npos);
  CHECK(error_of(R"({"inputs": [{"name": "x", "shape": [3, 2]}, {"name": "h", "shape": [2]}], "outputs": "b",
                     "layers": [{"type": "bidirectional", "name": "b", "inputs": ["x", "h"],
                                 "layer": {"type": "gru", "units": 2}}]})")
            .find("layer 'b' (bidirectional) takes its initial states as 2 inputs after the sequence (the forward layer's "
                  "h0, then the backward layer's), got 1") != std::string::npos);
  CHECK(error_of(R"({"input_shape": [4], "layers": [{"type": "bidirectional", "layer": {"type": "lstm", "units": 2}}]})")
            .find("layer 'bidirectional_1.forward' (lstm) needs a sequence input [batch, time, features] of floats, but "
                  "input 'input' gives f32[1,4]") != std::string::npos);
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "repeat_vector", "n": 3}]})") ==
        "model.json:1:36: layers[0]: layer 'repeat_vector_1' (repeat_vector) needs an input [batch, features] of floats, "
        "but input 'input' gives f32[1,4,2]");
  CHECK(error_of(R"({"input_shape": [4], "layers": [{"type": "repeat_vector", "n": 0}]})") ==
        "model.json:1:64: layers[0].n: expected a positive integer, got 0");
  CHECK(error_of(R"({"input_shape": [4], "layers": [{"type": "repeat_vector", "n": 140737488355328}]})") ==
        "model.json:1:64: layers[0].n: layer 'repeat_vector_1' (repeat_vector): 140737488355328 steps of 4 features make "
        "more than 281474976710656 elements");
  CHECK(error_of(R"({"input_shape": [4, 2], "layers": [{"type": "time_distributed", "layer": {"type": "conv2d"}}]})")
            .find("time_distributed wraps a dense layer, not 'conv2d'") != std::string::npos);
}
