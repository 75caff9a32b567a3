#include "passes/fold_batch_norm.h"

#include "passes/cleanup/cleanup.h"
#include "passes/rewrite.h"

#include <optional>
#include <set>

namespace dlc::passes {

using ir::Graph;
using ir::ValueId;

namespace {

// One normalisation to fold, by source node and value ids.
struct Fold {
  int anchor = -1;               // conv2d or matmul node
  ValueId bias = ir::kNoValue;   // its bias_add's parameter, if any
  ValueId mean, stddev, gamma = ir::kNoValue, beta = ir::kNoValue;
  ValueId end;                   // the chain's last value: replaced by the folded one
  std::set<int> nodes;           // anchor, bias_add, sub, div, mul, add: not copied
};

class Matcher {
public:
  explicit Matcher(const Graph& g) : g_(g), uses_(use_counts(g)) {}

  // The node producing v when it is `op` and v is used exactly once.
  const ir::Node* single_use(ValueId v, const char* op) const {
    const ir::Value& val = g_.value(v);
    if (val.kind != ir::ValueKind::result || uses_[size_t(v)] != 1) return nullptr;
    const ir::Node& n = g_.node(val.node);
    return n.op->name == op ? &n : nullptr;
  }
  bool param(ValueId v) const { return g_.value(v).kind == ir::ValueKind::param; }
  // The only node reading v, when it is `op` and reads v as operand `at`.
  const ir::Node* only_user(ValueId v, const char* op, size_t at) const {
    if (uses_[size_t(v)] != 1) return nullptr;
    for (const ir::Node& n : g_.nodes())
      if (n.op->name == op && n.operands.size() > at && n.operands[at] == v) return &n;
    return nullptr;
  }

  // A fold ending at division node `div`, if the chain matches.
  std::optional<Fold> match(const ir::Node& div) const {
    Fold f;
    const ir::Node* sub = single_use(div.operands[0], "sub");
    if (!sub || !param(sub->operands[1])) return std::nullopt;
    f.mean = sub->operands[1];
    f.stddev = div.operands[1];
    const ir::Node* sq = g_.value(f.stddev).kind == ir::ValueKind::result ? &g_.node(g_.value(f.stddev).node) : nullptr;
    if (!sq || sq->op->name != "sqrt") return std::nullopt;
    const ir::Node* eps = g_.value(sq->operands[0]).kind == ir::ValueKind::result
                              ? &g_.node(g_.value(sq->operands[0]).node) : nullptr;
    if (!eps || eps->op->name != "scale" || !param(eps->operands[0]) || eps->attrs.get_float("scale", 1) != 1)
      return std::nullopt;
    ValueId a = sub->operands[0];
    if (const ir::Node* b = single_use(a, "bias_add"); b && param(b->operands[1])) {
      f.bias = b->operands[1];
      f.nodes.insert(node_index(*b));
      a = b->operands[0];
    }
    const ir::Node* anchor = single_use(a, "conv2d");
    if (!anchor) anchor = single_use(a, "matmul");
    if (!anchor || anchor->attrs.get_bool("transpose_a", false) || anchor->attrs.get_bool("transpose_b", false))
      return std::nullopt;
    const ir::Shape& w = g_.type(anchor->operands[1]).shape;
    int64_t channels = g_.type(f.mean).shape.numel();
    if (w[w.rank() - 1] != channels || g_.type(f.mean).shape.rank() != 1) return std::nullopt;
    f.anchor = node_index(*anchor);
    f.nodes.insert({f.anchor, node_index(*sub), node_index(div)});
    f.end = div.results[0];
    if (const ir::Node* mul = only_user(f.end, "mul", 0); mul && param(mul->operands[1]) &&
                                                          g_.type(mul->operands[1]).shape == g_.type(f.mean).shape) {
      f.gamma = mul->operands[1];
      f.nodes.insert(node_index(*mul));
      f.end = mul->results[0];
    }
    if (const ir::Node* add = only_user(f.end, "add", 0); add && param(add->operands[1]) &&
                                                          g_.type(add->operands[1]).shape == g_.type(f.mean).shape) {
      f.beta = add->operands[1];
      f.nodes.insert(node_index(*add));
      f.end = add->results[0];
    }
    return f;
  }

  int node_index(const ir::Node& n) const { return g_.value(n.results[0]).node; }

private:
  const Graph& g_;
  std::vector<int> uses_;
};

// The folded chain in the new graph: bias_add(anchor(x, W * s), beta + (b - mean) * s).
ValueId emit_fold(GraphRewriter& rw, const Fold& f) {
  const Graph& src = rw.src();
  Graph& g = rw.dst();
  const ir::Node& anchor = src.node(f.anchor);
  std::string layer = src.value(f.mean).name.substr(0, src.value(f.mean).name.rfind('.'));
  ValueId sd = rw.map(f.stddev);
  ValueId s = f.gamma != ir::kNoValue
                  ? g.add("div", {rw.map(f.gamma), sd}, {}, layer + ".fold_scale")
                  : g.add("div", {g.add_constant(layer + ".one", ir::TensorType{ir::DType::f32, ir::Shape{}}, {1.0f}), sd},
                          {}, layer + ".fold_scale");
  ValueId w = rw.map(anchor.operands[1]);
  ValueId folded_w = g.add("mul", {w, s}, {}, src.value(anchor.operands[1]).name + ".folded");
  ValueId y = g.add(anchor.op->name, {rw.map(anchor.operands[0]), folded_w}, anchor.attrs, anchor.name);
  ValueId shift = g.add("scale", {g.add("mul", {rw.map(f.mean), s}, {}, layer + ".fold_mean")}, {{"scale", -1.0}},
                        layer + ".fold_shift");
  if (f.bias != ir::kNoValue)
    shift = g.add("add", {shift, g.add("mul", {rw.map(f.bias), s}, {}, layer + ".fold_old_bias")}, {},
                  layer + ".fold_shift_bias");
  if (f.beta != ir::kNoValue) shift = g.add("add", {shift, rw.map(f.beta)}, {}, layer + ".folded_bias");
  return g.add("bias_add", {y, shift}, {}, src.value(f.end).name);
}

} // namespace

Graph fold_batch_norm(const Graph& g) {
  Matcher m(g);
  std::vector<Fold> folds;
  std::vector<int> fold_ending(g.values().size(), -1); // end value -> fold index
  std::set<int> skipped;
  for (const ir::Node& n : g.nodes()) {
    if (n.op->name != "div") continue;
    std::optional<Fold> f = m.match(n);
    if (!f) continue;
    for (int i : f->nodes) skipped.insert(i);
    fold_ending[size_t(f->end)] = int(folds.size());
    folds.push_back(*f);
  }
  if (folds.empty()) return g;
  GraphRewriter rw(g);
  for (size_t i = 0; i < g.nodes().size(); i++) {
    const ir::Node& n = g.nodes()[i];
    if (!skipped.count(int(i))) {
      rw.copy_node(int(i));
      continue;
    }
    for (ValueId r : n.results)
      if (fold_ending[size_t(r)] >= 0) rw.replace(r, emit_fold(rw, folds[size_t(fold_ending[size_t(r)])]));
  }
  return eliminate_dead_code(rw.finish());
}

} // namespace dlc::passes
