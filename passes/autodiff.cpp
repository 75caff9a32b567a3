// Reverse-mode differentiation as a graph transformation (docs/autodiff.md).
//
// 1. Mark the values on a path from some `wrt` value to the loss: reachable forwards
//    from a wrt value and backwards from the loss. Only nodes with a result on such a
//    path are differentiated, and a rule is asked only for the operands on one.
// 2. Walk those nodes in reverse topological order. A value's gradient is the sum of the
//    contributions of its uses; all uses come later in the forward order, so the sum is
//    complete when its producer is reached.
// 3. Rules read forward values (inputs and results) where they need them; nothing of the
//    forward pass is recomputed.
#include "passes/autodiff.h"

#include "passes/autodiff/grad_rule.h"

#include <fmt/format.h>

#include <algorithm>

namespace dlc::passes {

using ir::Graph;
using ir::kNoValue;
using ir::ValueId;

namespace {

class Differentiator {
public:
  // Seeds: (output, its cotangent), the gradient flowing into each output.
  Differentiator(Graph& g, const std::vector<std::pair<ValueId, ValueId>>& seeds, const std::vector<ValueId>& wrt)
      : g_(g), forward_nodes_(int(g.nodes().size())), forward_values_(g.values().size()),
        contrib_(g.values().size()), total_(g.values().size(), kNoValue) {
    std::vector<ValueId> outputs;
    for (auto& s : seeds) outputs.push_back(s.first);
    mark_path(outputs, wrt);
    for (auto& [out, cot] : seeds) contrib_[size_t(out)].push_back(cot);
  }

  void run() {
    for (int i = forward_nodes_ - 1; i >= 0; i--) backprop(i);
  }

  ValueId gradient_of(ValueId v) { return total(v); }

private:
  Graph& g_;
  int forward_nodes_;
  size_t forward_values_; // values from here on were made by rules (a loop's saved state)
  std::vector<bool> on_path_;
  std::vector<std::vector<ValueId>> contrib_; // per forward value: gradient contributions
  std::vector<ValueId> total_;                // per forward value: their sum, once formed

  void mark_path(const std::vector<ValueId>& outputs, const std::vector<ValueId>& wrt) {
    size_t n = g_.values().size();
    std::vector<bool> from_wrt(n, false), to_loss(n, false);
    for (ValueId w : wrt) from_wrt[size_t(w)] = true;
    for (const ir::Node& node : g_.nodes()) {
      bool any = false;
      for (ValueId o : node.operands) any = any || from_wrt[size_t(o)];
      for (ValueId r : node.results) from_wrt[size_t(r)] = from_wrt[size_t(r)] || any;
    }
    for (ValueId o : outputs) to_loss[size_t(o)] = true;
    for (int i = forward_nodes_ - 1; i >= 0; i--) {
      const ir::Node& node = g_.node(i);
      bool any = false;
      for (ValueId r : node.results) any = any || to_loss[size_t(r)];
      if (any)
        for (ValueId o : node.operands) to_loss[size_t(o)] = true;
    }
    on_path_.assign(n, false);
    for (size_t v = 0; v < n; v++) on_path_[v] = from_wrt[v] && to_loss[v];
  }

  // The summed gradient of forward value v (kNoValue when nothing flows into it), named
  // "d.<v>" when formed here.
  ValueId total(ValueId v) {
    if (total_[size_t(v)] != kNoValue || contrib_[size_t(v)].empty()) return total_[size_t(v)];
    const auto& parts = contrib_[size_t(v)];
    std::string name = g_.value(v).name;
    ValueId sum = joined_slices(parts, name);
    if (sum == kNoValue) {
      sum = parts[0];
      for (size_t i = 1; i < parts.size(); i++) sum = g_.add("add", {sum, parts[i]}, {}, name + ".grad_sum");
    }
    const ir::Value& s = g_.value(sum);
    if (s.kind == ir::ValueKind::result && s.node >= forward_nodes_ && s.name.rfind("d.", 0) != 0)
      g_.rename(sum, "d." + name);
    return total_[size_t(v)] = sum;
  }

  // Where every contribution is a slice_grad along one axis and together they cover it
  // exactly once (the gates of a recurrent step, its time steps), their sum is the
  // concat of the slices' gradients: no zero-padded copies and no additions. The
  // slice_grad nodes are left dead for the cleanup passes. kNoValue when they do not tile.
  ValueId joined_slices(const std::vector<ValueId>& parts, const std::string& name) {
    if (parts.size() < 2) return kNoValue;
    std::vector<std::pair<int64_t, ValueId>> pieces; // (begin, dy)
    int64_t axis = -1, extent = 0;
    for (ValueId p : parts) {
      const ir::Value& v = g_.value(p);
      if (v.kind != ir::ValueKind::result || g_.node(v.node).op->name != "slice_grad") return kNoValue;
      const ir::Node& n = g_.node(v.node);
      if (axis >= 0 && n.attrs.get_int("axis") != axis) return kNoValue;
      axis = n.attrs.get_int("axis");
      extent = n.attrs.get_int("extent");
      pieces.push_back({n.attrs.get_int("begin"), n.operands[0]});
    }
    std::sort(pieces.begin(), pieces.end());
    std::vector<ValueId> dys;
    int64_t at = 0;
    for (auto& [begin, dy] : pieces) {
      if (begin != at) return kNoValue;
      at += g_.type(dy).shape[int(axis)];
      dys.push_back(dy);
    }
    if (at != extent) return kNoValue;
    return g_.add("concat", dys, {{"axis", axis}}, name + ".grad_join");
  }

  void backprop(int index) {
    bool needed = false;
    auto on_path = [&](ValueId v) { return size_t(v) < forward_values_ && on_path_[size_t(v)]; };
    for (ValueId r : g_.node(index).results) needed = needed || on_path(r);
    if (!needed) return;
    autodiff::GradCtx ctx{g_, g_.node(index), {}, {}, index};
    const ir::Node& n = ctx.node;
    for (ValueId r : n.results) ctx.dy.push_back(on_path(r) ? total(r) : kNoValue);
    for (ValueId o : n.operands) ctx.wanted.push_back(on_path_[size_t(o)]);
    const autodiff::GradFn* rule = autodiff::find_grad(n.op->name);
    if (!rule)
      throw Error(fmt::format("node '{}' ({}): op {} has no gradient rule, so nothing before it "
                              "can be trained (docs/autodiff.md lists the differentiable ops)",
                              n.name, n.op->name, n.op->name));
    std::vector<ValueId> grads = (*rule)(ctx);
    for (size_t i = 0; i < n.operands.size(); i++) {
      if (!ctx.wanted[i]) continue;
      ValueId operand = n.operands[i];
      if (i >= grads.size() || grads[i] == kNoValue)
        throw Error(fmt::format("node '{}' ({}): not differentiable with respect to operand {} (%{})",
                                n.name, n.op->name, i, g_.value(operand).name));
      if (g_.type(grads[i]) != g_.type(operand))
        throw Error(fmt::format("node '{}' ({}): internal error: the gradient rule gives {} for "
                                "operand {} of type {}",
                                n.name, n.op->name, g_.type(grads[i]).str(), i, g_.type(operand).str()));
      contrib_[size_t(operand)].push_back(grads[i]);
    }
  }
};

} // namespace

std::vector<ValueId> differentiate(Graph& g, ValueId loss, const std::vector<ValueId>& wrt) {
  const ir::TensorType& lt = g.type(loss);
  if (lt.shape.rank() != 0 || !ir::is_float(lt.dtype))
    throw Error(fmt::format("differentiate: the loss %{} must be a float scalar, is {}",
                            g.value(loss).name, lt.str()));
  for (ValueId w : wrt)
    if (!ir::is_float(g.type(w).dtype))
      throw Error(fmt::format("differentiate: %{} is {}; only float values have gradients",
                              g.value(w).name, g.type(w).str()));
  ValueId seed = g.add_constant("d." + g.value(loss).name, g.type(loss), {1.0f});
  Differentiator d(g, {{loss, seed}}, wrt);
  d.run();
  std::vector<ValueId> out;
  for (ValueId w : wrt) out.push_back(d.gradient_of(w));
  return out;
}

std::vector<ValueId> vjp(Graph& g, const std::vector<ValueId>& outputs, const std::vector<ValueId>& cotangents,
                         const std::vector<ValueId>& wrt) {
  if (outputs.size() != cotangents.size()) throw Error("vjp: one cotangent per output");
  std::vector<std::pair<ValueId, ValueId>> seeds;
  for (size_t i = 0; i < outputs.size(); i++) {
    if (g.type(outputs[i]) != g.type(cotangents[i]))
      throw Error(fmt::format("vjp: output %{} is {}, its cotangent {}", g.value(outputs[i]).name,
                              g.type(outputs[i]).str(), g.type(cotangents[i]).str()));
    seeds.push_back({outputs[i], cotangents[i]});
  }
  Differentiator d(g, seeds, wrt);
  d.run();
  std::vector<ValueId> out;
  for (ValueId w : wrt) out.push_back(d.gradient_of(w));
  return out;
}

} // namespace dlc::passes
