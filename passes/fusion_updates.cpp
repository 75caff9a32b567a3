// Who writes an update's target. The new value of a parameter is best computed straight
// into the parameter's memory (no copy, no extra buffer): safe when the kernel computing
// it reads the old value only element by element in its body, and every other reader of
// the old value can run before it. Otherwise a copy kernel writes it after everything.
#include "passes/fusion.h"

#include <set>

namespace dlc::passes {

using ir::ValueId;

namespace {

int kernel_computing(const Program& p, ValueId v) {
  const ir::Value& x = p.graph.value(v);
  if (x.kind != ir::ValueKind::result) return -1;
  for (size_t i = 0; i < p.kernels.size(); i++)
    for (int n : p.kernels[i].nodes)
      if (n == x.node) return int(i);
  return -1;
}

// Can kernel `k` compute `u.value` straight into `u.target`'s memory?
bool writes_in_place(const Program& p, const Kernel& k, const ir::Graph::Update& u) {
  const ir::Graph& g = p.graph;
  for (int a : k.anchors)
    for (ValueId o : g.node(a).operands)
      if (base_value(g, o) == u.target) return false;
  bool reads_target = false;
  for (const Expr& e : k.body)
    if (e.kind == Expr::load && base_value(g, e.value) == u.target) {
      reads_target = true;
      if (e.index != LoadIndex::same || g.type(u.target).shape != k.space) return false;
    }
  if (!reads_target) return true;
  for (const Store& s : k.stores)
    if (k.outputs[size_t(s.output)] == u.value && k.body[size_t(s.expr)].kind != Expr::op &&
        k.body[size_t(s.expr)].kind != Expr::project)
      return false;
  return true;
}

Kernel copy_kernel(const ir::Graph& g, int id, const ir::Graph::Update& u) {
  Kernel c;
  c.id = id;
  c.name = fmt::format("k{}_update.{}", id, g.value(u.target).name);
  c.kind = KernelKind::elementwise;
  c.space = g.type(u.target).shape;
  c.inputs = {u.value};
  c.outputs = {u.target};
  Expr load;
  load.kind = Expr::load;
  load.input = 0;
  load.value = u.value;
  load.type = g.type(u.value);
  c.body = {load};
  c.stores = {{0, 0}};
  return c;
}

bool acyclic(const std::vector<std::vector<int>>& deps) {
  std::vector<int> state(deps.size(), 0); // 0 new, 1 on the stack, 2 done
  std::vector<std::pair<int, size_t>> stack;
  for (size_t s = 0; s < deps.size(); s++) {
    if (state[s]) continue;
    stack.push_back({int(s), 0});
    state[s] = 1;
    while (!stack.empty()) {
      auto& [k, next] = stack.back();
      if (next == deps[size_t(k)].size()) {
        state[size_t(k)] = 2;
        stack.pop_back();
        continue;
      }
      int d = deps[size_t(k)][next++];
      if (state[size_t(d)] == 1) return false;
      if (state[size_t(d)] == 0) {
        state[size_t(d)] = 1;
        stack.push_back({d, 0});
      }
    }
  }
  return true;
}

void assign_writers(Program& p, size_t fused_kernels, bool allow_in_place) {
  p.kernels.resize(fused_kernels);
  p.update_writes.clear();
  std::set<ValueId> used;
  for (const auto& u : p.graph.updates()) {
    int k = kernel_computing(p, u.value);
    bool in_place = allow_in_place && k >= 0 && base_value(p.graph, u.value) == u.value &&
                    !used.count(u.value) && writes_in_place(p, p.kernels[size_t(k)], u);
    used.insert(u.value);
    if (in_place) {
      p.update_writes.push_back({u.target, u.value, p.kernels[size_t(k)].id, false});
    } else {
      int id = int(p.kernels.size());
      p.kernels.push_back(copy_kernel(p.graph, id, u));
      p.update_writes.push_back({u.target, u.value, id, true});
    }
  }
}

} // namespace

void place_updates(Program& p) {
  size_t fused = p.kernels.size();
  assign_writers(p, fused, true);
  // Rare: an in-place write that must wait for a reader which itself waits for the write.
  if (!acyclic(kernel_dependencies(p))) assign_writers(p, fused, false);
}

void verify_kernels(const Program& p) {
  const ir::Graph& g = p.graph;
  std::vector<int> owner(g.nodes().size(), -1);
  for (int v : p.views) owner[size_t(v)] = -2;
  for (const Kernel& k : p.kernels) {
    auto where = fmt::format("kernel {}", k.name);
    for (int n : k.nodes) {
      if (owner[size_t(n)] != -1)
        throw Error(fmt::format("{}: node '{}' is fused twice", where, g.node(n).name));
      owner[size_t(n)] = k.id;
    }
    for (size_t e = 0; e < k.body.size(); e++)
      for (int a : k.body[e].args)
        if (a < 0 || size_t(a) >= e) throw Error(where + ": body reads a later expression");
    for (const Store& s : k.stores)
      if (s.expr < 0 || size_t(s.expr) >= k.body.size() || s.output < 0 ||
          size_t(s.output) >= k.outputs.size())
        throw Error(where + ": store out of range");
  }
  for (size_t n = 0; n < g.nodes().size(); n++)
    if (owner[n] == -1) throw Error(fmt::format("node '{}' is in no kernel", g.node(int(n)).name));
  if (!acyclic(kernel_dependencies(p))) throw Error("kernels depend on each other in a cycle");
}

} // namespace dlc::passes
