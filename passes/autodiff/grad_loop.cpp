// The gradient of a loop (`scan`, ir/ops/loop_ops.cpp) is a loop: backpropagation
// through time, the steps in reverse order (docs/autodiff.md, docs/recurrent.md).
//
// Forward, step t maps (c_t, x_t, w) to (c_{t+1}, y_t). The forward loop is extended in
// place to also stack every step's entering carried values c_t (its body outputs its
// carry inputs), which is all the backward loop keeps per step: the choice is to keep the
// carried state and recompute the step's other values (gates, products) in the backward
// step, as cuDNN's and PyTorch's LSTMs keep far less than every intermediate.
//
// The backward loop runs over t = T-1 .. 0 with
//   carried:    dc (the gradient reaching c_{t+1}), and an accumulator per wanted invariant
//               whose gradient is not hoisted (below)
//   sequences:  dy_t (the gradients of the per-step outputs that reach the loss), c_t, x_t
//   invariants: w
// and its body is the forward step recomputed from (c_t, x_t, w), then its vector-Jacobian
// product (passes/autodiff.h, vjp) with cotangents (dc, dy_t): the next dc is the
// gradient of c_t, each accumulator adds the step's gradient of its invariant, and the
// step's gradient of x_t is stacked. After the last step, dc is the gradient of the
// initial state.
//
// Hoisting (the cuDNN/oneDNN formulation): an invariant whose step gradient is a product
// P_tᵀ·Q_t of per-step values -- a recurrent matrix U, dU_t = h_{t-1}ᵀ·dz_t -- gets no
// accumulator. P and Q are stacked instead (unless the loop has them stacked already: the
// saved states, a sequence, the gradient of x_t), and after the loop its gradient is one
// GEMM over all n·T rows. The loop then carries no [H, G·H] sum from step to step.
#include "passes/autodiff.h"
#include "ir/error.h"
#include "passes/autodiff/grad_rule.h"
#include "passes/rewrite.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace dlc::passes::autodiff {

using ir::Graph;
using ir::kNoValue;
using ir::ValueId;

namespace {

ValueId zeros(Graph& g, const ir::TensorType& t, const std::string& name) {
  return g.add_constant(name, t, std::vector<float>(size_t(t.shape.numel()), 0.0f));
}

// The backward step's body, and what the backward loop needs to know about it.
struct BackwardBody {
  std::shared_ptr<Graph> graph;
  std::vector<ValueId> forward_in; // the forward step's inputs, recomputed from
  std::vector<ValueId> grads;      // per forward operand: its gradient in the body, or kNoValue
  std::vector<size_t> accumulated; // invariants whose gradient is summed in a carried accumulator
  std::vector<size_t> step_outputs; // forward per-step outputs whose gradient reaches the loss
  std::vector<size_t> sequences;   // sequence operands that need a gradient (stacked)
  // Invariants whose gradient is a product Pᵀ·Q of per-step values: P and Q are stacked
  // (or are sequences already) and the product over all steps is one GEMM after the loop.
  struct Hoisted {
    size_t invariant;
    ValueId p, q; // body values
  };
  std::vector<Hoisted> hoisted;
  std::vector<ValueId> stacked; // per-step outputs after the sequences' gradients: P and Q values
  std::vector<ValueId> kept;    // the body's products the forward loop stacks (forward body values)
  std::vector<ValueId> kept_in; // the backward body's inputs for them
};

// The body's products (matmul results) that the forward loop keeps per step, so that the
// backward step does not recompute them: what cuDNN keeps of a step, its gates' inputs.
std::vector<ValueId> kept_products(const Graph& body) {
  std::vector<ValueId> out;
  for (const ir::Node& n : body.nodes())
    if (n.op->name == "matmul") out.push_back(n.results[0]);
  return out;
}

// Pᵀ·Q of two per-step values (neither an invariant nor a constant): the matmul gradient
// rule's dB = Aᵀ·dC for C = A·B, such as an LSTM's dU = h_{t-1}ᵀ·dz_t.
bool per_step_product(const Graph& g, ValueId v, size_t first_invariant, const std::vector<ValueId>& forward_in,
                      ValueId& p, ValueId& q) {
  const ir::Value& x = g.value(v);
  if (x.kind != ir::ValueKind::result) return false;
  const ir::Node& n = g.node(x.node);
  if (n.op->name != "matmul" || !n.attrs.get_bool("transpose_a", false) || n.attrs.get_bool("transpose_b", false))
    return false;
  for (ValueId o : n.operands) {
    if (g.value(o).kind == ir::ValueKind::constant) return false;
    for (size_t j = first_invariant; j < forward_in.size(); j++)
      if (forward_in[j] == o) return false;
  }
  p = n.operands[0], q = n.operands[1];
  return true;
}

BackwardBody backward_body(GradCtx& ctx, bool hoist) {
  const Graph& body = *ctx.node.body;
  size_t k = size_t(ctx.attrs().get_int("carries")), s = size_t(ctx.attrs().get_int("sequences"));
  size_t operands = ctx.node.operands.size(), outputs = body.outputs().size();
  auto input_name = [&](size_t i) { return body.value(body.inputs()[i]).name; };
  BackwardBody bb;
  auto back = bb.graph = std::make_shared<Graph>();
  back->name = body.name + ".grad";
  std::vector<size_t> invariants; // operand indices of the invariants that need a gradient
  for (size_t j = k + s; j < operands; j++)
    if (ctx.wants(int(j))) invariants.push_back(j);
  for (size_t q = k; q < outputs; q++)
    if (ctx.dy[q] != kNoValue) bb.step_outputs.push_back(q);
  // Probe: which invariants' gradients are per-step products (built without them first).
  std::vector<size_t> hoistable;
  if (hoist) {
    BackwardBody probe = backward_body(ctx, false);
    for (size_t j : invariants) {
      ValueId p, q;
      if (probe.grads[j] != kNoValue && per_step_product(*probe.graph, probe.grads[j], k + s, probe.forward_in, p, q))
        hoistable.push_back(j);
    }
  }
  for (size_t j : invariants)
    if (std::find(hoistable.begin(), hoistable.end(), j) == hoistable.end()) bb.accumulated.push_back(j);
  std::vector<ValueId> dc, acc, dy;
  bb.forward_in.resize(operands);
  for (size_t i = 0; i < k; i++) dc.push_back(back->add_input("d." + input_name(i), body.type(body.inputs()[i])));
  for (size_t j : bb.accumulated) acc.push_back(back->add_input("d." + input_name(j), body.type(body.inputs()[j])));
  for (size_t q : bb.step_outputs)
    dy.push_back(back->add_input("d." + body.outputs()[q].name, body.type(body.outputs()[q].value)));
  // The forward step's inputs: carried values and sequences (stacked per step), the kept
  // products (stacked too), then the invariants.
  bb.kept = kept_products(body);
  for (size_t i = 0; i < operands; i++) {
    if (i == k + s)
      for (ValueId v : bb.kept) bb.kept_in.push_back(back->add_input("saved." + body.value(v).name, body.type(v)));
    bb.forward_in[i] = back->add_input(input_name(i), body.type(body.inputs()[i]));
  }
  if (operands == k + s)
    for (ValueId v : bb.kept) bb.kept_in.push_back(back->add_input("saved." + body.value(v).name, body.type(v)));
  auto map = copy_nodes(*back, body, bb.forward_in, false);
  std::vector<ValueId> outs, cots;
  for (size_t i = 0; i < k; i++) {
    outs.push_back(map.at(body.outputs()[i].value));
    cots.push_back(dc[i]);
  }
  for (size_t q = 0; q < bb.step_outputs.size(); q++) {
    outs.push_back(map.at(body.outputs()[bb.step_outputs[q]].value));
    cots.push_back(dy[q]);
  }
  std::vector<ValueId> wrt; // the float inputs: ids and labels have no gradient
  for (ValueId v : bb.forward_in)
    if (ir::is_float(back->type(v).dtype)) wrt.push_back(v);
  std::vector<ValueId> float_grads = passes::vjp(*back, outs, cots, wrt);
  // The recomputed step reads the kept products; the recomputed matmuls then serve only
  // as the vjp's record of what to differentiate (their gradients do not read their
  // results), and dead code elimination drops them.
  for (size_t q = 0; q < bb.kept.size(); q++) {
    ValueId recomputed = map.at(bb.kept[q]);
    for (int n = 0; n < int(back->nodes().size()); n++)
      for (ValueId& o : back->node(n).operands)
        if (o == recomputed) o = bb.kept_in[q];
  }
  for (size_t i = 0, f = 0; i < operands; i++)
    bb.grads.push_back(ir::is_float(back->type(bb.forward_in[i]).dtype) ? float_grads[f++] : kNoValue);
  auto grad_or_zero = [&](size_t i) {
    return bb.grads[i] != kNoValue ? bb.grads[i] : zeros(*back, back->type(bb.forward_in[i]), "zero.d." + input_name(i));
  };
  for (size_t i = 0; i < k; i++) back->add_output("d." + input_name(i), grad_or_zero(i));
  for (size_t a = 0; a < bb.accumulated.size(); a++) {
    size_t j = bb.accumulated[a];
    ValueId g = bb.grads[j] == kNoValue ? acc[a] : back->add("add", {acc[a], bb.grads[j]}, {}, "d." + input_name(j) + ".sum");
    back->add_output("d." + input_name(j), g);
  }
  std::vector<ValueId> stacked; // values stacked per step, in output order
  for (size_t j = k; j < k + s; j++)
    if (ctx.wants(int(j))) {
      bb.sequences.push_back(j);
      stacked.push_back(grad_or_zero(j));
      back->add_output("d." + input_name(j), stacked.back());
    }
  for (size_t j : hoistable) {
    BackwardBody::Hoisted h{j, kNoValue, kNoValue};
    per_step_product(*back, bb.grads[j], k + s, bb.forward_in, h.p, h.q);
    for (ValueId v : {h.p, h.q}) {
      bool is_sequence = false; // a carried value's saved copy, or a sequence: stacked already
      for (size_t i = 0; i < k + s; i++) is_sequence = is_sequence || bb.forward_in[i] == v;
      for (ValueId in : bb.kept_in) is_sequence = is_sequence || in == v;
      if (is_sequence || std::find(stacked.begin(), stacked.end(), v) != stacked.end()) continue;
      stacked.push_back(v);
      bb.stacked.push_back(v);
      back->add_output(fmt::format("d.{}.{}", input_name(j), v == h.p ? "lhs" : "rhs"), v);
    }
    bb.hoisted.push_back(h);
  }
  return bb;
}

std::vector<ValueId> scan_grad(GradCtx& ctx) {
  const Graph& body = *ctx.node.body;
  size_t k = size_t(ctx.attrs().get_int("carries")), s = size_t(ctx.attrs().get_int("sequences"));
  size_t operands = ctx.node.operands.size();
  bool reverse = ctx.attrs().get_bool("reverse", false);
  const std::string& name = ctx.node.name;
  auto input_name = [&](size_t i) { return body.value(body.inputs()[i]).name; };

  // 1. The forward loop also stacks each step's entering carried values.
  auto saving = std::make_shared<Graph>(body);
  for (size_t i = 0; i < k; i++) saving->add_output("saved." + input_name(i), saving->inputs()[i]);
  for (ValueId v : kept_products(body)) saving->add_output("saved." + body.value(v).name, v);
  std::vector<ValueId> saved = ctx.g.extend_loop(ctx.index, saving); // carried values, then products

  // 2. The backward step's body.
  BackwardBody bb = backward_body(ctx, true);

  // 3. The backward loop over the steps in the other order.
  std::vector<ValueId> loop_in;
  for (size_t i = 0; i < k; i++)
    loop_in.push_back(ctx.dy[i] != kNoValue ? ctx.dy[i] : zeros(ctx.g, ctx.g.type(ctx.x(int(i))), fmt::format("{}.d_last{}", name, i)));
  for (size_t j : bb.accumulated) loop_in.push_back(zeros(ctx.g, ctx.g.type(ctx.x(int(j))), fmt::format("{}.d_acc{}", name, j)));
  for (size_t q : bb.step_outputs) loop_in.push_back(ctx.dy[q]);
  size_t sequences_in = bb.step_outputs.size() + k + s + bb.kept.size();
  for (size_t i = 0; i < k; i++) loop_in.push_back(saved[i]);
  for (size_t j = k; j < k + s; j++) loop_in.push_back(ctx.x(int(j)));
  for (size_t q = 0; q < bb.kept.size(); q++) loop_in.push_back(saved[k + q]);
  for (size_t j = k + s; j < operands; j++) loop_in.push_back(ctx.x(int(j)));
  ir::Attrs attrs{{"carries", int64_t(k + bb.accumulated.size())}, {"sequences", int64_t(sequences_in)},
                  {"reverse", !reverse}};
  auto r = ctx.g.add_node("scan", loop_in, attrs, name + ".grad", bb.graph);

  std::vector<ValueId> out(operands, kNoValue);
  for (size_t i = 0; i < k; i++)
    if (ctx.wants(int(i))) out[i] = r[i];
  for (size_t a = 0; a < bb.accumulated.size(); a++) out[bb.accumulated[a]] = r[k + a];
  size_t first_stacked = k + bb.accumulated.size();
  for (size_t b = 0; b < bb.sequences.size(); b++) out[bb.sequences[b]] = r[first_stacked + b];

  // 4. The hoisted weight gradients: Σ_t P_tᵀ·Q_t = Pᵀ·Q over the [n·T, ·] rows of the
  // stacked values (each is a loop result, or a sequence the loop read: a saved state).
  auto stacked_value = [&](ValueId v) {
    for (size_t i = 0; i < k + s; i++)
      if (bb.forward_in[i] == v) return i < k ? saved[i] : ctx.x(int(i));
    for (size_t q = 0; q < bb.kept_in.size(); q++)
      if (bb.kept_in[q] == v) return saved[k + q];
    for (size_t b = 0; b < bb.sequences.size(); b++)
      if (bb.grads[bb.sequences[b]] == v) return r[first_stacked + b];
    for (size_t b = 0; b < bb.stacked.size(); b++)
      if (bb.stacked[b] == v) return r[first_stacked + bb.sequences.size() + b];
    throw Error(fmt::format("{}: a hoisted gradient's factor is not stacked", name));
  };
  auto rows = [&](ValueId v, const std::string& what) {
    const ir::Shape sh = ctx.g.type(v).shape;
    return ctx.g.add("reshape", {v}, {{"shape", std::vector<int64_t>{sh[0] * sh[1], sh.numel() / (sh[0] * sh[1])}}},
                     name + ".grad." + what);
  };
  for (const BackwardBody::Hoisted& h : bb.hoisted) {
    std::string what = "d_" + input_name(h.invariant);
    out[h.invariant] = ctx.g.add("matmul", {rows(stacked_value(h.p), what + ".lhs"), rows(stacked_value(h.q), what + ".rhs")},
                                 {{"transpose_a", true}}, name + ".grad." + what);
  }
  return out;
}

} // namespace

void register_loop_grads() { register_grad("scan", scan_grad); }

} // namespace dlc::passes::autodiff
