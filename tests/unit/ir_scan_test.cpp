// The loop construct (ir/ops/loop_ops.cpp, issue #17): a `scan` built by hand computes a
// running sum worked out by hand, forwards and in reverse; its type rule refuses what
// does not fit; the printer shows the body once; every recurrent layer is a loop whose
// graph does not grow with T; its gradient (a reverse loop) matches finite differences.
// The compiled loops are checked against the interpreter in codegen_scan_test.cpp.
#include "gradcheck_helpers.h"
#include "error_of.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/gradcheck.h"
#include "passes/training.h"
#include "runtime/init.h"

#include <doctest/doctest.h>

using namespace dlc;
using ir::Shape;
using ir::TensorType;

namespace {

TensorType f32(Shape s) { return TensorType{ir::DType::f32, std::move(s)}; }

// Body of a running sum with a scale: s' = s + w * x_t, output y_t = s'.
std::shared_ptr<ir::Graph> running_sum_body(int64_t n, int64_t d) {
  auto b = std::make_shared<ir::Graph>();
  ir::ValueId s = b->add_input("s", f32({n, d}));
  ir::ValueId x = b->add_input("x", f32({n, d}));
  ir::ValueId w = b->add_input("w", f32({n, d}));
  ir::ValueId next = b->add("add", {s, b->add("mul", {w, x}, {}, "wx")}, {}, "next");
  b->add_output("s", next);
  b->add_output("y", next);
  return b;
}

} // namespace

TEST_CASE("scan: a running sum by hand, forwards and in reverse") {
  for (bool reverse : {false, true}) {
    ir::Graph g;
    ir::ValueId s0 = g.add_input("s0", f32({1, 2}));
    ir::ValueId xs = g.add_input("xs", f32({1, 3, 2}));
    ir::ValueId w = g.add_input("w", f32({1, 2}));
    ir::Attrs attrs{{"carries", int64_t(1)}, {"sequences", int64_t(1)}, {"reverse", reverse}};
    auto r = g.add_node("scan", {s0, xs, w}, attrs, "loop", running_sum_body(1, 2));
    REQUIRE(r.size() == 2);
    CHECK(g.type(r[0]) == f32({1, 2}));
    CHECK(g.type(r[1]) == f32({1, 3, 2}));
    g.add_output("last", r[0]);
    g.add_output("all", r[1]);
    ir::verify(g);
    ir::Bindings b{{"s0", ir::Tensor(f32({1, 2}), {10, 20})},
                   {"xs", ir::Tensor(f32({1, 3, 2}), {1, 2, 3, 4, 5, 6})},
                   {"w", ir::Tensor(f32({1, 2}), {1, -1})}};
    auto out = ir::run_outputs(g, b, {});
    // Forwards: s = (10,20) -> (11,18) -> (14,14) -> (19,8). In reverse the steps run
    // t = 2, 1, 0: (15,14) -> (18,10) -> (19,8), each output at its own step's index.
    CHECK(out[0].second.data == std::vector<double>{19, 8});
    if (!reverse) CHECK(out[1].second.data == std::vector<double>{11, 18, 14, 14, 19, 8});
    else CHECK(out[1].second.data == std::vector<double>{19, 8, 18, 10, 15, 14});
  }
}

TEST_CASE("scan: the type rule refuses a body that does not fit, 0 steps, and a missing body") {
  ir::Graph g;
  ir::ValueId s0 = g.add_input("s0", f32({1, 2}));
  ir::ValueId xs = g.add_input("xs", f32({1, 3, 2}));
  ir::ValueId w = g.add_input("w", f32({1, 2}));
  ir::ValueId wide = g.add_input("wide", f32({1, 3}));
  ir::ValueId empty = g.add_input("empty", f32({1, 0, 2}));
  ir::Attrs attrs{{"carries", int64_t(1)}, {"sequences", int64_t(1)}};
  auto body = running_sum_body(1, 2);
  CHECK(error_of([&] { g.add_node("scan", {s0, xs, w}, attrs, "loop"); }) == "node 'loop' (scan): has no body graph");
  CHECK(error_of([&] { g.add_node("scan", {s0, xs}, attrs, "loop", body); }) ==
        "node 'loop' (scan): its body takes 3 inputs, the loop passes 2");
  CHECK(error_of([&] { g.add_node("scan", {s0, xs, wide}, attrs, "loop", body); }) ==
        "node 'loop' (scan): body input 2 ('w') is f32[1,2], the loop passes f32[1,3]");
  CHECK(error_of([&] { g.add_node("scan", {s0, empty, w}, attrs, "loop", body); }) ==
        "node 'loop' (scan): a loop over 0 steps");
  ir::Attrs two{{"carries", int64_t(2)}, {"sequences", int64_t(2)}};
  CHECK(error_of([&] { g.add_node("scan", {s0, xs, w}, two, "loop", body); }) ==
        "node 'loop' (scan): carries=2 and sequences=2 do not fit its 3 operands");
  CHECK(error_of([&] { g.add_node("add", {s0, w}, {}, "sum", body); }) ==
        "node 'sum' (add): an op without a body was given one");
}

namespace {

const char* kRecurrent[] = {
    R"({"input_shape": [T, 3], "layers": [{"type": "simple_rnn", "units": 4, "return_sequences": true}]})",
    R"({"input_shape": [T, 3], "layers": [{"type": "simple_rnn", "units": 4, "activation": "relu"}]})",
    R"({"input_shape": [T, 3], "layers": [{"type": "lstm", "units": 4, "return_sequences": true},
                                          {"type": "lstm", "units": 3}]})",
    R"({"input_shape": [T, 3], "layers": [{"type": "lstm", "units": 4, "peephole": true, "return_sequences": true}]})",
    R"({"input_shape": [T, 3], "layers": [{"type": "gru", "units": 5, "return_sequences": true}]})",
    R"({"inputs": [{"name": "x", "shape": [T, 3]}, {"name": "h0", "shape": [4]}, {"name": "c0", "shape": [4]}],
        "layers": [{"type": "lstm", "name": "enc", "units": 4, "peephole": true, "inputs": ["x", "h0", "c0"]},
                   {"type": "gru", "name": "g", "units": 4, "return_sequences": true, "inputs": ["x", "h0"]}],
        "outputs": ["enc", "g"]})",
};

std::string with_steps(std::string json, int64_t steps) {
  for (size_t p; (p = json.find("[T,")) != std::string::npos;) json.replace(p, 3, fmt::format("[{},", steps));
  return json;
}

} // namespace

TEST_CASE("every recurrent layer is one loop") {
  for (const char* text : kRecurrent) {
    CAPTURE(text);
    auto model = frontend::load_model_text(with_steps(text, 5), "model.json");
    auto built = frontend::build_model(model, 2);
    int loops = 0;
    for (auto& n : built.graph.nodes()) loops += n.op->name == "scan";
    CHECK(loops == int(built.layers.size()));
  }
}

TEST_CASE("a recurrent layer as a loop: its graph and printed text do not grow with T, the body prints once") {
  const char* lstm = R"({"input_shape": [T, 8], "layers": [{"type": "lstm", "units": 16, "return_sequences": true},
                                                           {"type": "dense", "units": 2}]})";
  auto at = [&](int64_t steps) {
    return frontend::build_model(frontend::load_model_text(with_steps(lstm, steps), "m.json"), 4);
  };
  auto short_seq = at(12), long_seq = at(1000);
  CHECK(short_seq.graph.nodes().size() == long_seq.graph.nodes().size());
  std::string text = ir::print_graph(long_seq.graph);
  CHECK(text.find("= scan(") != std::string::npos);
  CHECK(text.find("graph lstm_1.step {") != std::string::npos);
  size_t first = text.find("%lstm_1.hu = matmul(%h, %recurrent_kernel)");
  CHECK(first != std::string::npos);
  CHECK(text.find("%lstm_1.hu = matmul", first + 1) == std::string::npos);
  CHECK(print_graph(short_seq.graph).size() + 64 > text.size());
}

namespace {

const char* kTrainable[] = {
    R"({"inputs": [{"name": "x", "shape": [T, 2]}, {"name": "h0", "shape": [3]}, {"name": "c0", "shape": [3]}],
        "outputs": "out", "layers": [
        {"type": "lstm", "name": "l", "inputs": ["x", "h0", "c0"], "units": 3, "peephole": true, "return_sequences": true},
        {"type": "time_distributed", "name": "out", "inputs": "l",
         "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
        "loss": "categorical_crossentropy"})",
    R"({"input_shape": [T, 2], "layers": [
        {"type": "gru", "units": 3, "return_sequences": true},
        {"type": "simple_rnn", "units": 2, "activation": "sigmoid"},
        {"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy"})",
    R"({"input_shape": [T, 3], "layers": [{"type": "lstm", "units": 4}, {"type": "dense", "units": 2}],
        "loss": "mse"})",
};

} // namespace

TEST_CASE("the gradient of a loop is a reverse loop: finite differences") {
  for (const char* text : kTrainable) {
    for (int64_t steps : {1, 4}) {
      CAPTURE(text);
      CAPTURE(steps);
      frontend::Model m = frontend::load_model_text(with_steps(text, steps), "model.json");
      auto looped = frontend::build_model(m, 2);
      passes::GradCheckOptions opt;
      auto r = passes::check_model_gradients(looped.graph, m.training, opt);
      check_gradients_agree(r);
    }
  }
}

TEST_CASE("the backward loop keeps the carried state per step, and neither graph grows with T") {
  const char* lstm = R"({"input_shape": [T, 8], "layers": [{"type": "lstm", "units": 16}, {"type": "dense", "units": 2}],
                         "loss": "mse"})";
  auto training = [&](int64_t steps) {
    frontend::Model m = frontend::load_model_text(with_steps(lstm, steps), "m.json");
    return passes::build_training_graph(frontend::build_model(m, 4).graph, m.training);
  };
  auto t12 = training(12), t300 = training(300);
  CHECK(t12.graph.nodes().size() == t300.graph.nodes().size());
  int scans = 0;
  for (const ir::Node& n : t300.graph.nodes()) {
    if (n.op->name != "scan") continue;
    scans++;
    if (!n.attrs.get_bool("reverse", false)) {
      // Forward: h and c after the last step, then h and c entering each step [4, 300, 16]
      // and the step's recurrent product h·U [4, 300, 64], which the backward step reads
      // instead of recomputing it.
      REQUIRE(n.results.size() == 5);
      CHECK(t300.graph.type(n.results[2]) == f32({4, 300, 16}));
      CHECK(t300.graph.type(n.results[3]) == f32({4, 300, 16}));
      CHECK(t300.graph.type(n.results[4]) == f32({4, 300, 64}));
    }
  }
  CHECK(scans == 2);
  // Hoisted: the backward loop carries dh and dc only; dU = Σ_t h_{t-1}ᵀ·dz_t is one matmul
  // after it, over the saved states and the stacked gradient of xw ([4·300, 16]ᵀ·[4·300, 64]).
  int hoisted = 0;
  for (const ir::Node& n : t300.graph.nodes()) {
    if (n.op->name == "scan" && n.attrs.get_bool("reverse", false)) CHECK(n.attrs.get_int("carries") == 2);
    if (n.op->name == "matmul" && t300.graph.value(n.results[0]).name == "d.lstm_1.recurrent_kernel") {
      hoisted++;
      CHECK(t300.graph.type(n.operands[0]) == f32({1200, 16}));
      CHECK(t300.graph.type(n.operands[1]) == f32({1200, 64}));
    }
  }
  CHECK(hoisted == 1);
}
