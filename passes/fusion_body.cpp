// From a kernel's nodes to its description: what it reads and writes, its body (the
// scalar expressions of its element-wise nodes) and which outputs may reuse inputs.
#include "passes/fusion.h"

#include <algorithm>
#include <map>
#include <set>

namespace dlc::passes {

using ir::ValueId;

namespace {

KernelKind kind_of_anchor(const ir::Node& n) {
  switch (n.op->cls) {
  case ir::OpClass::linalg: return KernelKind::matmul;
  case ir::OpClass::conv: return KernelKind::conv;
  case ir::OpClass::pool: return KernelKind::pool;
  case ir::OpClass::reduction: return KernelKind::reduction;
  case ir::OpClass::loss: return KernelKind::loss;
  case ir::OpClass::optimizer: return KernelKind::update;
  case ir::OpClass::shape: return KernelKind::data;
  case ir::OpClass::loop: return KernelKind::loop;
  case ir::OpClass::elementwise: return KernelKind::other;
  }
  return KernelKind::other;
}

// A kernel is named after its first anchor; one holding a loss is a loss kernel, and a
// softmax_xent kernel when a softmax shares its pass over the logits.
KernelKind kind_of(const ir::Graph& g, const Kernel& k) {
  if (k.anchors.empty()) return KernelKind::elementwise;
  bool loss = false, softmax = false;
  for (int a : k.anchors) {
    loss = loss || g.node(a).op->cls == ir::OpClass::loss;
    softmax = softmax || g.node(a).op->row_pass;
  }
  if (loss) return softmax ? KernelKind::softmax_xent : KernelKind::loss;
  return kind_of_anchor(g.node(k.anchors[0]));
}

struct BodyBuilder {
  const ir::Graph& g;
  const std::vector<int>& kernel_of;
  Kernel& k;
  std::map<ValueId, int> expr_of; // value -> expression computing or loading it

  bool inside(ValueId v) const {
    const ir::Value& x = g.value(v);
    return x.kind == ir::ValueKind::result && kernel_of[size_t(x.node)] == k.id;
  }
  bool is_anchor_result(ValueId v) const {
    return std::find(k.anchors.begin(), k.anchors.end(), g.value(v).node) != k.anchors.end();
  }
  int input_index(ValueId v) {
    auto it = std::find(k.inputs.begin(), k.inputs.end(), v);
    if (it != k.inputs.end()) return int(it - k.inputs.begin());
    k.inputs.push_back(v);
    return int(k.inputs.size()) - 1;
  }
  int push(Expr e) {
    k.body.push_back(std::move(e));
    return int(k.body.size()) - 1;
  }
  // The expression standing for operand `v`: an earlier op, an anchor result or a load.
  int expr_for(ValueId v) {
    auto it = expr_of.find(v);
    if (it != expr_of.end()) return it->second;
    Expr e;
    e.value = v;
    e.type = g.type(v);
    if (inside(v)) {
      e.kind = Expr::anchor;
    } else {
      e.kind = Expr::load;
      e.input = input_index(v);
      e.index = g.type(v).shape == k.space ? LoadIndex::same : LoadIndex::broadcast;
    }
    return expr_of[v] = push(std::move(e));
  }
  void add_op(const ir::Node& n) {
    if (n.op->strided_load) { // a fused slice: a strided load of its operand
      Expr e;
      e.kind = Expr::load;
      e.index = LoadIndex::slice;
      e.input = input_index(n.operands[0]);
      e.value = n.operands[0];
      e.attrs = n.attrs;
      e.type = g.type(n.results[0]);
      expr_of[n.results[0]] = push(std::move(e));
      return;
    }
    Expr e;
    e.kind = Expr::op;
    e.op_name = n.op->name;
    e.attrs = n.attrs;
    e.value = n.results[0];
    e.type = g.type(n.results[0]);
    for (ValueId o : n.operands) e.args.push_back(expr_for(o));
    int at = expr_of[n.results[0]] = push(std::move(e));
    for (size_t r = 1; r < n.results.size(); r++) {
      Expr p;
      p.kind = Expr::project;
      p.args = {at};
      p.result = int(r);
      p.value = n.results[r];
      p.type = g.type(n.results[r]);
      expr_of[n.results[r]] = push(std::move(p));
    }
  }
};

// Is `v` needed outside kernel `k`: by another kernel, a view, an output or an update?
std::vector<bool> used_outside(const ir::Graph& g, const std::vector<int>& kernel_of, int k) {
  std::vector<bool> out(g.values().size(), false);
  for (size_t i = 0; i < g.nodes().size(); i++)
    if (kernel_of[i] != k)
      for (ValueId o : g.node(int(i)).operands) out[size_t(o)] = true;
  for (auto& o : g.outputs()) out[size_t(o.value)] = true;
  for (auto& u : g.updates()) out[size_t(u.value)] = true;
  return out;
}

// Element-wise outputs may take the memory of a same-indexed input of their type that
// no anchor reads (memplan uses a pair only when the input dies in this kernel).
void find_in_place(const ir::Graph& g, Kernel& k) {
  std::set<ValueId> anchor_reads;
  for (int a : k.anchors)
    for (ValueId o : g.node(a).operands) anchor_reads.insert(base_value(g, o));
  std::set<int> taken;
  for (const Store& s : k.stores) {
    Expr::Kind stored = k.body[size_t(s.expr)].kind;
    if (stored != Expr::op && stored != Expr::project) continue;
    for (const Expr& e : k.body) {
      if (e.kind != Expr::load || e.index != LoadIndex::same || taken.count(e.input)) continue;
      if (e.type != g.type(k.outputs[size_t(s.output)]) || anchor_reads.count(base_value(g, e.value)))
        continue;
      k.in_place.push_back({s.output, e.input});
      taken.insert(e.input);
      break;
    }
  }
}

} // namespace

void finish_kernel(const ir::Graph& g, const std::vector<int>& kernel_of, Kernel& k) {
  k.kind = kind_of(g, k);
  k.name = fmt::format("k{}_{}", k.id, g.node(k.nodes[0]).name);
  BodyBuilder b{g, kernel_of, k, {}};
  for (int a : k.anchors)
    for (ValueId o : g.node(a).operands)
      if (!b.inside(o)) b.input_index(o);
  for (int i : k.nodes)
    if (std::find(k.anchors.begin(), k.anchors.end(), i) == k.anchors.end()) b.add_op(g.node(i));
  auto outside = used_outside(g, kernel_of, k.id);
  for (int i : k.nodes)
    for (ValueId r : g.node(i).results)
      if (outside[size_t(r)]) {
        k.outputs.push_back(r);
        k.stores.push_back({b.expr_for(r), int(k.outputs.size()) - 1});
      }
  find_in_place(g, k);
}

} // namespace dlc::passes
