// Helpers for the tests of the optimisation pipeline: example models as graphs, random
// bindings, and the equivalence check of an optimised Program against the interpreter.
#pragma once

#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "passes/pass_manager.h"
#include "passes/program_eval.h"
#include "passes/training.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

namespace dlc::passes::testing {

inline ir::TensorType f32(ir::Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

inline std::string example(const std::string& name) {
  return std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json";
}

// The inference graph, or the training graph, of examples/NAME.json at `batch`.
inline ir::Graph example_graph(const std::string& name, int64_t batch, bool train) {
  frontend::Model m = frontend::load_model(example(name));
  ir::Graph g = frontend::build_model(m, batch).graph;
  return train ? build_training_graph(g, m.training).graph : g;
}

// Inputs in [-1, 1) (integer inputs: alternating labels 0 and 1, valid for any 2+ classes),
// lr 0.01, params and state from their initializers.
inline ir::Bindings random_bindings(const ir::Graph& g, uint64_t seed) {
  ir::Bindings b = ir::init_params(g, seed);
  for (ir::ValueId v : g.inputs()) {
    const ir::Value& in = g.value(v);
    ir::Tensor t(in.type);
    for (int64_t i = 0; i < t.numel(); i++)
      t[i] = ir::is_float(in.type.dtype) ? 2.0 * dlc_rt::rng_uniform(seed, uint64_t(v) + 1000, uint64_t(i)) - 1.0
                                         : double(i % 2);
    if (in.name == "lr") t[0] = 0.01;
    t.round_to_f32();
    b[in.name] = t;
  }
  return b;
}

inline void check_close(const ir::Tensor& got, const ir::Tensor& want, const std::string& what) {
  REQUIRE(got.type == want.type);
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < got.numel(); i++) {
    bool ok = got[i] == want[i] || std::fabs(got[i] - want[i]) <= 1e-6 * std::fabs(want[i]) + 1e-12 ||
              (std::isnan(got[i]) && std::isnan(want[i]));
    if (!ok && first < 0) first = i;
    bad += !ok;
  }
  INFO(what << ": " << bad << " of " << got.numel() << " elements differ; first at " << first << ": "
            << (first >= 0 ? got[first] : 0) << " vs " << (first >= 0 ? want[first] : 0));
  CHECK(bad == 0);
}

// Runs `g` on the interpreter and its compiled Program on the program evaluator, and
// compares every output and every updated param/state to within 1e-6 relative.
inline void check_equivalent(const ir::Graph& g, const Program& p, uint64_t seed, bool training) {
  ir::EvalContext ctx;
  ctx.training = training;
  ctx.seed = seed;
  ctx.step = 3;
  ir::Bindings ref = random_bindings(g, seed), opt = ref;
  auto env = ir::evaluate(g, ref, ctx);
  ir::apply_updates(g, env, ref);
  auto outs = run_program(p, opt, ctx);
  REQUIRE(outs.size() == g.outputs().size());
  for (size_t i = 0; i < outs.size(); i++)
    check_close(outs[i].second, env[size_t(g.outputs()[i].value)], "output " + outs[i].first);
  for (auto& u : g.updates()) {
    const std::string& name = g.value(u.target).name;
    check_close(opt.at(name), ref.at(name), "updated " + name);
  }
}


// An LSTM cell's element-wise part over pre-activations z [n, 3H] (gates i, f, u as
// slices of the last axis) and the previous cell state c [n, H].
inline ir::Graph gate_graph(int64_t n) {
  const int64_t H = 4;
  ir::Graph g;
  g.batch = n;
  ir::ValueId z = g.add_input("z", f32({n, 3 * H}));
  ir::ValueId c = g.add_input("c", f32({n, H}));
  auto gate = [&](int k, const char* act, const std::string& name) {
    ir::ValueId s = g.add("slice", {z}, {{"axis", int64_t(1)}, {"begin", int64_t(k * H)}, {"size", H}}, name + ".pre");
    return g.add(act, {s}, {}, name);
  };
  ir::ValueId i = gate(0, "sigmoid", "i"), f = gate(1, "sigmoid", "f"), u = gate(2, "tanh", "u");
  ir::ValueId c2 = g.add("add", {g.add("mul", {f, c}, {}, "fc"), g.add("mul", {i, u}, {}, "iu")}, {}, "c2");
  g.add_output("h", g.add("mul", {g.add("tanh", {c2}, {}, "tc"), i}, {}, "h"));
  g.add_output("c2", c2);
  return g;
}

} // namespace dlc::passes::testing
