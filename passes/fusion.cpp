// Grouping nodes into kernels; see fusion.h for the rules.
#include "passes/fusion.h"

#include "passes/rewrite.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace dlc::passes {

using ir::ValueId;

namespace {

// Nodes that read their first operand (logits or prediction) row by row or as a whole
// and can share one pass over it: softmax and log_softmax of 2-D logits along the last
// axis, and every loss and loss gradient.
bool shares_prediction_pass(const ir::Graph& g, const ir::Node& n) {
  if (n.op->cls == ir::OpClass::loss) return true;
  if (!n.op->row_pass || g.type(n.operands[0]).shape.rank() != 2) return false;
  int64_t axis = n.attrs.get_int("axis", -1);
  return axis == -1 || axis == 1;
}

// An element-wise node the body can hold: results of one shape, to which every operand
// broadcasts.
bool body_node(const ir::Graph& g, const ir::Node& n) {
  if (!is_body_op(n.op->name)) return false;
  const ir::Shape& out = g.type(n.results[0]).shape;
  for (ValueId r : n.results)
    if (g.type(r).shape != out) return false;
  for (ValueId o : n.operands) {
    ir::Shape b;
    if (!ir::broadcast_shapes(g.type(o).shape, out, b) || b != out) return false;
  }
  return true;
}

// A slice that element-wise bodies can read straight from its operand's memory (a
// strided load, LoadIndex::slice): along a non-batch axis of f32 data, neither an output
// nor an update, and read only by body nodes whose results have its shape (so every read
// is element i of the slice for element i of the space).
bool fusable_slice(const ir::Graph& g, const ir::Node& n, const std::vector<std::vector<int>>& users,
                   const std::set<ValueId>& pinned) {
  if (!n.op->strided_load) return false;
  ValueId r = n.results[0];
  const ir::TensorType& in = g.type(n.operands[0]);
  int64_t axis = n.attrs.get_int("axis");
  if (axis < 0) axis += in.shape.rank();
  if (axis < 1 || in.dtype != ir::DType::f32 || pinned.count(r) || users[size_t(r)].empty()) return false;
  for (int u : users[size_t(r)])
    if (!body_node(g, g.node(u)) || g.type(g.node(u).results[0]).shape != g.type(r).shape) return false;
  return true;
}

struct Fuser {
  const ir::Graph& g;
  std::vector<int> kernel_of;          // node -> kernel, -1 for views
  std::vector<Kernel> kernels;
  std::vector<std::set<int>> deps;     // kernel -> kernels whose outputs it reads
  std::map<ValueId, int> prediction_pass; // logits / prediction -> the kernel reading it
  std::map<ValueId, ValueId> update_target; // update value -> target
  // Fusable slices not yet placed: each joins the kernel of its first user.
  std::set<int> pending_slices;
  // (sliced value, slice shape) -> kernels holding slices of it: the parts of one value
  // (an LSTM's gates) are read by one kernel.
  std::map<std::pair<ValueId, std::string>, std::vector<int>> slice_readers;

  explicit Fuser(const ir::Graph& graph) : g(graph), kernel_of(graph.nodes().size(), -1) {
    for (auto& u : g.updates()) update_target.emplace(u.value, u.target);
  }

  // The node of an operand that is a pending slice, or -1.
  int pending_slice(ValueId v) const {
    const ir::Value& x = g.value(v);
    return x.kind == ir::ValueKind::result && pending_slices.count(x.node) ? x.node : -1;
  }

  // The kernel whose memory `v` is read from (through views), or -1 (not computed).
  int source_kernel(ValueId v) const {
    const ir::Value& b = g.value(base_value(g, v));
    return b.kind == ir::ValueKind::result ? kernel_of[size_t(b.node)] : -1;
  }
  // The kernel computing `v` itself (not through a view), or -1.
  int direct_kernel(ValueId v) const {
    const ir::Value& x = g.value(v);
    return x.kind == ir::ValueKind::result ? kernel_of[size_t(x.node)] : -1;
  }
  // Does kernel `from` depend, directly or not, on kernel `to`?
  bool reaches(int from, int to) const {
    std::vector<bool> seen(kernels.size(), false);
    std::function<bool(int)> go = [&](int k) {
      if (k == to) return true;
      if (seen[size_t(k)]) return false;
      seen[size_t(k)] = true;
      for (int d : deps[size_t(k)])
        if (go(d)) return true;
      return false;
    };
    return go(from);
  }
  // An operand read from memory must not come from `k` itself or depend on it.
  bool external_ok(ValueId v, int k) const {
    int s = source_kernel(v);
    return s < 0 || (s != k && !reaches(s, k));
  }

  int create(int node, const ir::Shape& space) {
    int k = new_kernel(space);
    join(k, node);
    return k;
  }
  int new_kernel(const ir::Shape& space) {
    Kernel k;
    k.id = int(kernels.size());
    k.space = space;
    kernels.push_back(std::move(k));
    deps.emplace_back();
    return kernels.back().id;
  }
  void join(int k, int node) {
    kernel_of[size_t(node)] = k;
    kernels[size_t(k)].nodes.push_back(node);
    for (ValueId o : g.node(node).operands) {
      int s = source_kernel(o);
      if (s >= 0 && s != k) deps[size_t(k)].insert(s);
    }
  }

  bool body_fits(int k, const ir::Node& n) const {
    const Kernel& K = kernels[size_t(k)];
    ValueId r = n.results[0];
    if (g.type(r).shape != K.space) return false;
    for (ValueId o : n.operands) {
      if (int s = pending_slice(o); s >= 0) {
        if (!external_ok(g.node(s).operands[0], k)) return false;
      } else if (direct_kernel(o) == k) {
        if (g.type(o).shape != K.space) return false;
      } else if (!external_ok(o, k)) {
        return false;
      }
    }
    // A kernel writing an update's value into the target's memory must read the target
    // only element by element (in its body), never in an anchor's loops.
    for (ValueId res : n.results) {
      auto t = update_target.find(res);
      if (t != update_target.end())
        for (int a : K.anchors)
          for (ValueId o : g.node(a).operands)
            if (base_value(g, o) == t->second) return false;
    }
    return true;
  }

  void place_body(int i) {
    const ir::Node& n = g.node(i);
    const ir::Shape& shape = g.type(n.results[0]).shape;
    std::vector<int> candidates;
    for (ValueId o : n.operands) {
      if (int s = pending_slice(o); s >= 0) {
        auto it = slice_readers.find({g.node(s).operands[0], shape.str()});
        if (it != slice_readers.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
      } else {
        candidates.push_back(direct_kernel(o));
      }
    }
    int best = -1;
    for (int k : candidates)
      if (k > best && body_fits(k, n)) best = k;
    if (best < 0) best = new_kernel(shape);
    for (ValueId o : n.operands)
      if (int s = pending_slice(o); s >= 0) {
        pending_slices.erase(s);
        join(best, s);
        auto& readers = slice_readers[{g.node(s).operands[0], shape.str()}];
        if (std::find(readers.begin(), readers.end(), best) == readers.end()) readers.push_back(best);
      }
    join(best, i);
  }

  void place_anchor(int i) {
    const ir::Node& n = g.node(i);
    if (shares_prediction_pass(g, n)) {
      ValueId z = n.operands[0];
      auto it = prediction_pass.find(z);
      bool ok = it != prediction_pass.end();
      for (size_t j = 0; ok && j < n.operands.size(); j++) ok = external_ok(n.operands[j], it->second);
      if (ok) {
        join(it->second, i);
        kernels[size_t(it->second)].anchors.push_back(i);
        return;
      }
      prediction_pass[z] = create(i, g.type(z).shape);
    } else {
      create(i, g.type(n.results[0]).shape);
    }
    kernels.back().anchors.push_back(i);
  }

  void run(Program& p) {
    std::vector<std::vector<int>> users(g.values().size());
    for (int i = 0; i < int(g.nodes().size()); i++)
      for (ValueId o : g.node(i).operands) users[size_t(o)].push_back(i);
    std::set<ValueId> pinned;
    for (auto& o : g.outputs()) pinned.insert(o.value);
    for (auto& u : g.updates()) pinned.insert(u.value);
    for (int i = 0; i < int(g.nodes().size()); i++) {
      const ir::Node& n = g.node(i);
      if (is_view_op(n.op->name)) p.views.push_back(i);
      else if (fusable_slice(g, n, users, pinned)) pending_slices.insert(i);
      else if (body_node(g, n)) place_body(i);
      else place_anchor(i);
    }
    if (!pending_slices.empty()) // every user of a pending slice is a body node, which places it
      throw Error(fmt::format("fuse: slice %{} was never placed", g.value(g.node(*pending_slices.begin()).results[0]).name));
    for (Kernel& k : kernels) finish_kernel(g, kernel_of, k);
    p.kernels = std::move(kernels);
  }
};

// A copy of `v` as a node of its own: scale(v) {scale=1} (clean-up passes, which would
// remove it, have run).
ValueId copy_of(ir::Graph& g, ValueId v) {
  if (!ir::is_float(g.type(v).dtype))
    throw Error(fmt::format("fuse: cannot copy %{} of type {}", g.value(v).name, g.type(v).str()));
  return g.add("scale", {v}, {{"scale", 1.0}}, g.value(v).name + ".copy");
}

// Gives every update a value computed by a node of its own, and every output that shows
// an updated param or state its own copy, so that fusion can write each update into its
// target's memory: the update value of an input, param, state or constant, or a view, or
// a value another update already takes, is copied; so is an output reading (through
// views) a param or state an update overwrites, since outputs show the values the step
// started from.
ir::Graph materialize_copies(const ir::Graph& g) {
  GraphRewriter rw(g);
  for (int i = 0; i < int(g.nodes().size()); i++) rw.copy_node(i);
  ir::Graph& d = rw.dst();
  std::set<ValueId> targets, taken;
  for (auto& u : g.updates()) targets.insert(rw.map(u.target));
  for (auto& o : g.outputs()) {
    ValueId v = rw.map(o.value);
    d.add_output(o.name, targets.count(base_value(d, v)) ? copy_of(d, v) : v);
  }
  for (auto& u : g.updates()) {
    ValueId v = rw.map(u.value);
    if (d.value(v).kind != ir::ValueKind::result || base_value(d, v) != v || taken.count(v)) v = copy_of(d, v);
    taken.insert(v);
    d.add_update(rw.map(u.target), v);
  }
  return rw.finish(false);
}

} // namespace

void fuse(Program& p) {
  p.kernels.clear();
  p.views.clear();
  p.update_writes.clear();
  p.fused_ops = int(p.graph.nodes().size());
  p.graph = materialize_copies(p.graph);
  Fuser(p.graph).run(p);
  place_updates(p);
  p.fused = true;
}

} // namespace dlc::passes
