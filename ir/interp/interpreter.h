// The reference interpreter: evaluates any graph with naive, obviously-correct loops
// (f32 storage, double accumulation). It is the oracle every backend and every gradient
// is tested against.
#pragma once

#include "ir/graph.h"
#include "ir/interp/tensor.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dlc::ir {

enum class Precision { f32, f64 };

struct EvalContext {
  bool training = false; // dropout draws masks only when training
  Precision precision = Precision::f32;
  uint64_t seed = 0;
  uint64_t step = 0;
};

using EvalFn = std::function<void(const Node&, const std::vector<const Tensor*>& in,
                                  std::vector<Tensor>& out, const EvalContext&)>;

void register_eval(const std::string& op, EvalFn fn);
const EvalFn* find_eval(const std::string& op);

// Values bound by name: graph inputs, params and state. Constants come from the graph.
using Bindings = std::map<std::string, Tensor>;

// Evaluates every node; returns a tensor per value id. Throws dlc::Error when a binding
// is missing or has the wrong type, or when an op meets bad data (e.g. a label out of range).
std::vector<Tensor> evaluate(const Graph& g, const Bindings& bindings, const EvalContext& ctx = {});

// The graph's outputs, by name, in declaration order.
std::vector<std::pair<std::string, Tensor>> run_outputs(const Graph& g, const Bindings& bindings,
                                                        const EvalContext& ctx = {});

// Fresh parameter (and state) values from their initializers and a seed.
Bindings init_params(const Graph& g, uint64_t seed);

// Applies the graph's updates after evaluate(): each updated param/state takes its new value.
void apply_updates(const Graph& g, const std::vector<Tensor>& values, Bindings& bindings);

} // namespace dlc::ir
