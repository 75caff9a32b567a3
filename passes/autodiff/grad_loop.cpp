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
//   carried:    dc (the gradient reaching c_{t+1}), and one accumulator per wanted invariant
//   sequences:  dy_t (the gradients of the per-step outputs that reach the loss), c_t, x_t
//   invariants: w
// and its body is the forward step recomputed from (c_t, x_t, w), then its vector-Jacobian
// product (passes/autodiff.h, vjp) with cotangents (dc, dy_t): the next dc is the
// gradient of c_t, each accumulator adds the step's gradient of its invariant, and the
// step's gradient of x_t is stacked. After the last step, dc is the gradient of the
// initial state.
#include "passes/autodiff.h"
#include "passes/autodiff/grad_rule.h"

#include <fmt/format.h>

#include <unordered_map>

namespace dlc::passes::autodiff {

using ir::Graph;
using ir::kNoValue;
using ir::ValueId;

namespace {

// Copies src's nodes into dst, src's inputs read as `inputs` (one dst value each);
// returns dst's value for each src value that was copied or mapped.
std::unordered_map<ValueId, ValueId> copy_nodes(Graph& dst, const Graph& src, const std::vector<ValueId>& inputs) {
  std::unordered_map<ValueId, ValueId> map;
  for (size_t i = 0; i < inputs.size(); i++) map[src.inputs()[i]] = inputs[i];
  for (ValueId c : src.constants()) {
    const ir::Value& v = src.value(c);
    map[c] = dst.add_constant(v.name, v.type, v.data);
  }
  for (const ir::Node& n : src.nodes()) {
    std::vector<ValueId> operands;
    for (ValueId o : n.operands) operands.push_back(map.at(o));
    auto r = dst.add_node(n.op->name, operands, n.attrs, n.name, n.body);
    for (size_t i = 0; i < r.size(); i++) map[n.results[i]] = r[i];
  }
  return map;
}

ValueId zeros(Graph& g, const ir::TensorType& t, const std::string& name) {
  return g.add_constant(name, t, std::vector<float>(size_t(t.shape.numel()), 0.0f));
}

std::vector<ValueId> scan_grad(GradCtx& ctx) {
  const Graph& body = *ctx.node.body;
  size_t k = size_t(ctx.attrs().get_int("carries")), s = size_t(ctx.attrs().get_int("sequences"));
  size_t operands = ctx.node.operands.size(), outputs = body.outputs().size();
  bool reverse = ctx.attrs().get_bool("reverse", false);
  const std::string& name = ctx.node.name;
  auto input_name = [&](size_t i) { return body.value(body.inputs()[i]).name; };

  // 1. The forward loop also stacks each step's entering carried values.
  auto saving = std::make_shared<Graph>(body);
  for (size_t i = 0; i < k; i++) saving->add_output("saved." + input_name(i), saving->inputs()[i]);
  std::vector<ValueId> saved = ctx.g.extend_loop(ctx.index, saving);

  // 2. The backward step's body.
  auto back = std::make_shared<Graph>();
  back->name = body.name + ".grad";
  std::vector<size_t> invariants; // operand indices of the invariants that need a gradient
  for (size_t j = k + s; j < operands; j++)
    if (ctx.wants(int(j))) invariants.push_back(j);
  std::vector<size_t> step_outputs; // body outputs (>= k) whose gradient reaches the loss
  for (size_t q = k; q < outputs; q++)
    if (ctx.dy[q] != kNoValue) step_outputs.push_back(q);
  std::vector<ValueId> dc, acc, dy, forward_in(operands);
  for (size_t i = 0; i < k; i++) dc.push_back(back->add_input("d." + input_name(i), body.type(body.inputs()[i])));
  for (size_t j : invariants) acc.push_back(back->add_input("d." + input_name(j), body.type(body.inputs()[j])));
  for (size_t q : step_outputs)
    dy.push_back(back->add_input("d." + body.outputs()[q].name, body.type(body.outputs()[q].value)));
  for (size_t i = 0; i < operands; i++) forward_in[i] = back->add_input(input_name(i), body.type(body.inputs()[i]));
  auto map = copy_nodes(*back, body, forward_in);
  std::vector<ValueId> outs, cots;
  for (size_t i = 0; i < k; i++) {
    outs.push_back(map.at(body.outputs()[i].value));
    cots.push_back(dc[i]);
  }
  for (size_t q = 0; q < step_outputs.size(); q++) {
    outs.push_back(map.at(body.outputs()[step_outputs[q]].value));
    cots.push_back(dy[q]);
  }
  std::vector<ValueId> wrt; // the float inputs: ids and labels have no gradient
  for (ValueId v : forward_in)
    if (ir::is_float(back->type(v).dtype)) wrt.push_back(v);
  std::vector<ValueId> float_grads = passes::vjp(*back, outs, cots, wrt), grads;
  for (size_t i = 0, f = 0; i < operands; i++)
    grads.push_back(ir::is_float(back->type(forward_in[i]).dtype) ? float_grads[f++] : kNoValue);
  auto grad_or_zero = [&](size_t i) {
    return grads[i] != kNoValue ? grads[i] : zeros(*back, back->type(forward_in[i]), "zero.d." + input_name(i));
  };
  for (size_t i = 0; i < k; i++) back->add_output("d." + input_name(i), grad_or_zero(i));
  for (size_t a = 0; a < invariants.size(); a++) {
    size_t j = invariants[a];
    ValueId g = grads[j] == kNoValue ? acc[a] : back->add("add", {acc[a], grads[j]}, {}, "d." + input_name(j) + ".sum");
    back->add_output("d." + input_name(j), g);
  }
  std::vector<size_t> sequences; // sequence operands that need a gradient
  for (size_t j = k; j < k + s; j++)
    if (ctx.wants(int(j))) {
      sequences.push_back(j);
      back->add_output("d." + input_name(j), grad_or_zero(j));
    }

  // 3. The backward loop over the steps in the other order.
  std::vector<ValueId> loop_in;
  for (size_t i = 0; i < k; i++)
    loop_in.push_back(ctx.dy[i] != kNoValue ? ctx.dy[i] : zeros(ctx.g, ctx.g.type(ctx.x(int(i))), fmt::format("{}.d_last{}", name, i)));
  for (size_t j : invariants) loop_in.push_back(zeros(ctx.g, ctx.g.type(ctx.x(int(j))), fmt::format("{}.d_acc{}", name, j)));
  for (size_t q : step_outputs) loop_in.push_back(ctx.dy[q]);
  size_t sequences_in = step_outputs.size() + k + s;
  for (size_t i = 0; i < k; i++) loop_in.push_back(saved[i]);
  for (size_t j = k; j < operands; j++) loop_in.push_back(ctx.x(int(j)));
  ir::Attrs attrs{{"carries", int64_t(k + invariants.size())}, {"sequences", int64_t(sequences_in)},
                  {"reverse", !reverse}};
  auto r = ctx.g.add_node("scan", loop_in, attrs, name + ".grad", back);

  std::vector<ValueId> out(operands, kNoValue);
  for (size_t i = 0; i < k; i++)
    if (ctx.wants(int(i))) out[i] = r[i];
  for (size_t a = 0; a < invariants.size(); a++) out[invariants[a]] = r[k + a];
  for (size_t b = 0; b < sequences.size(); b++) out[sequences[b]] = r[k + invariants.size() + b];
  return out;
}

} // namespace

void register_loop_grads() { register_grad("scan", scan_grad); }

} // namespace dlc::passes::autodiff
