// Gradient checks (passes/gradcheck.h).
#include "passes/gradcheck.h"

#include "passes/autodiff.h"
#include "passes/training.h"
#include "runtime/rng.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace dlc::passes {

using ir::Bindings;
using ir::Tensor;
using ir::ValueId;

double GradCheckResult::worst() const {
  double w = 0;
  for (auto& v : values) w = std::max(w, v.worst);
  return w;
}

const ValueCheck* GradCheckResult::first_failure(double tol) const {
  for (auto& v : values)
    if (!(v.worst <= tol)) return &v;
  return nullptr;
}

namespace {

// Every index when there are few, else `max` distinct ones drawn from the seed.
std::vector<int64_t> pick_entries(int64_t numel, int64_t max, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> out;
  if (numel <= max) {
    for (int64_t i = 0; i < numel; i++) out.push_back(i);
    return out;
  }
  std::set<int64_t> seen;
  for (uint64_t k = 0; int64_t(out.size()) < max; k++) {
    int64_t i = int64_t(dlc_rt::rng_bits(seed, stream, k) % uint64_t(numel));
    if (seen.insert(i).second) out.push_back(i);
  }
  return out;
}

// Finite differences of the loss, re-evaluating after each perturbation only the nodes
// of g downstream of the perturbed value. `env` holds every value of g unperturbed (and
// may hold more: the backward part appended to a copy of g keeps g's value ids).
class Checker {
public:
  Checker(const ir::Graph& g, ValueId loss, std::vector<Tensor> env, const GradCheckOptions& opt)
      : g_(g), loss_(loss), env_(std::move(env)), opt_(opt), to_loss_(g.values().size(), false) {
    to_loss_[size_t(loss)] = true;
    for (int i = int(g.nodes().size()) - 1; i >= 0; i--) {
      bool any = false;
      for (ValueId r : g.node(i).results) any = any || to_loss_[size_t(r)];
      if (any)
        for (ValueId o : g.node(i).operands) to_loss_[size_t(o)] = true;
    }
  }

  double base_loss() const { return env_[size_t(loss_)][0]; }
  const Tensor& value(ValueId v) const { return env_[size_t(v)]; }

  // Checks the given entries of value v against the analytic gradient (nullptr: zero);
  // `downstream` is nodes_downstream_of(v).
  ValueCheck check(ValueId v, const Tensor* analytic, const std::vector<int64_t>& entries,
                   const std::vector<int>& downstream) {
    const ir::Value& val = g_.value(v);
    ValueCheck vc{val.name, val.type};
    Tensor& t = env_[size_t(v)];
    double base = base_loss();
    for (int64_t i : entries) {
      double w = t[i];
      t[i] = w + opt_.eps;
      double up = loss_after(downstream);
      t[i] = w - opt_.eps;
      double down = loss_after(downstream);
      t[i] = w;
      double numeric = (up - down) / (2 * opt_.eps);
      double a = analytic ? (*analytic)[i] : 0.0;
      double diff = std::fabs(a - numeric);
      double err = diff / std::max({std::fabs(a), std::fabs(numeric), opt_.floor});
      double one_sided_gap = std::fabs((up - base) - (base - down)) / opt_.eps;
      if (err > opt_.tol && one_sided_gap > diff) {
        vc.skipped++; // a kink within eps: the difference quotient is no derivative here
        continue;
      }
      vc.checked++;
      if (!(err <= vc.worst)) { // also records NaN
        vc.worst = err;
        vc.worst_index = i;
        vc.analytic = a;
        vc.numeric = numeric;
      }
    }
    return vc;
  }

  // The nodes, in order, that read v directly or indirectly and lead to the loss.
  std::vector<int> nodes_downstream_of(ValueId v) const {
    std::vector<bool> changed(g_.values().size(), false);
    changed[size_t(v)] = true;
    std::vector<int> out;
    for (int i = 0; i < int(g_.nodes().size()); i++) {
      const ir::Node& n = g_.node(i);
      bool reads = false;
      for (ValueId o : n.operands) reads = reads || changed[size_t(o)];
      bool needed = false;
      for (ValueId r : n.results) needed = needed || to_loss_[size_t(r)];
      if (!reads || !needed) continue;
      for (ValueId r : n.results) changed[size_t(r)] = true;
      out.push_back(i);
    }
    return out;
  }

private:
  const ir::Graph& g_;
  ValueId loss_;
  std::vector<Tensor> env_; // unperturbed values; one entry of a wrt value at a time is perturbed
  const GradCheckOptions& opt_;
  std::vector<bool> to_loss_;

  // The loss after re-evaluating `nodes` over env_ (whose perturbed entry they read).
  double loss_after(const std::vector<int>& nodes) const {
    std::map<ValueId, Tensor> fresh;
    auto value = [&](ValueId id) -> const Tensor* {
      auto it = fresh.find(id);
      return it == fresh.end() ? &env_[size_t(id)] : &it->second;
    };
    std::vector<const Tensor*> in;
    std::vector<Tensor> out;
    for (int i : nodes) {
      const ir::Node& n = g_.node(i);
      in.clear();
      for (ValueId o : n.operands) in.push_back(value(o));
      out.clear();
      for (ValueId r : n.results) out.emplace_back(g_.type(r));
      (*ir::find_eval(n.op->name))(n, in, out, opt_.eval);
      for (size_t k = 0; k < out.size(); k++) {
        if (opt_.eval.precision == ir::Precision::f32) out[k].round_to_f32();
        fresh[n.results[k]] = std::move(out[k]);
      }
    }
    return (*value(loss_))[0];
  }
};

// Estimated multiply-adds of evaluating a node: the contraction for matmul and conv2d,
// otherwise the elements it reads and writes.
double node_cost(const ir::Graph& g, const ir::Node& n) {
  double out = 0, all = 0;
  for (ValueId r : n.results) out += double(g.type(r).shape.numel());
  for (ValueId o : n.operands) all += double(g.type(o).shape.numel());
  const std::string& op = n.op->name;
  if (op == "matmul") {
    const ir::Shape& a = g.type(n.operands[0]).shape;
    return out * double(n.attrs.get_bool("transpose_a", false) ? a[0] : a[1]);
  }
  if (op == "conv2d") {
    const ir::Shape& w = g.type(n.operands[1]).shape;
    return out * double(w[0] * w[1] * w[2]);
  }
  return out + all;
}

// Which entries of each value to probe. Each value offers up to max_entries entries;
// a probe costs two evaluations of the nodes downstream of its value. Rounds give one
// more entry to every value, cheapest values first, while the budget lasts, so that a
// huge model still gets its cheap (late) parameters checked and reports the rest.
struct Probe {
  std::vector<int> downstream;
  std::vector<int64_t> entries;
  int64_t unprobed = 0;
};

std::vector<Probe> plan_probes(const Checker& c, const ir::Graph& g, const std::vector<ValueId>& wrt,
                               const GradCheckOptions& opt) {
  std::vector<Probe> plan(wrt.size());
  std::vector<std::vector<int64_t>> offered(wrt.size());
  std::vector<double> cost(wrt.size(), 0);
  std::vector<size_t> order;
  for (size_t i = 0; i < wrt.size(); i++) {
    const ir::Value& v = g.value(wrt[i]);
    plan[i].downstream = c.nodes_downstream_of(wrt[i]);
    for (int n : plan[i].downstream) cost[i] += 2 * node_cost(g, g.node(n));
    offered[i] = pick_entries(v.type.shape.numel(), opt.max_entries, opt.seed, dlc_rt::name_hash(v.name.c_str()));
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] < cost[b]; });
  double left = opt.budget;
  for (size_t round = 0; round < size_t(opt.max_entries); round++)
    for (size_t i : order)
      if (round < offered[i].size() && cost[i] <= left) {
        plan[i].entries.push_back(offered[i][round]);
        left -= cost[i];
      }
  for (size_t i = 0; i < wrt.size(); i++) plan[i].unprobed = int64_t(offered[i].size() - plan[i].entries.size());
  return plan;
}

// The classes an input indexes: the depth of a one_hot, the vocabulary of an embedding,
// or the class count of a sparse cross-entropy, reading it directly or through reshapes
// (per-step labels [batch, T] become rows); 0 when none does.
int64_t indexed_range(const ir::Graph& g, ValueId v) {
  for (const ir::Node& n : g.nodes()) {
    if (n.operands.empty()) continue;
    if (n.op->name == "reshape" && n.operands[0] == v)
      if (int64_t r = indexed_range(g, n.results[0])) return r;
    if (n.op->name == "one_hot" && n.operands[0] == v) return n.attrs.get_int("depth");
    if (n.op->name == "embedding_lookup" && n.operands[0] == v) return g.type(n.operands[1]).shape[0];
    if (n.op->name == "sparse_softmax_cross_entropy" && n.operands[1] == v) return g.type(n.operands[0]).shape[1];
  }
  return 0;
}

// Random data for an input: integers in [0, range) for indices (token ids, also when
// stored as f32; 2 classes when nothing says), N(0, 1) for other floats.
Tensor random_input(const ir::Graph& g, ValueId v, uint64_t seed) {
  const ir::Value& val = g.value(v);
  Tensor t(val.type);
  uint64_t stream = dlc_rt::name_hash(val.name.c_str());
  int64_t range = indexed_range(g, v);
  if (ir::is_float(val.type.dtype) && range == 0) {
    for (int64_t i = 0; i < t.numel(); i++) t[i] = double(float(dlc_rt::rng_normal(seed, stream, uint64_t(i))));
    return t;
  }
  uint64_t classes = uint64_t(range > 0 ? range : 2);
  for (int64_t i = 0; i < t.numel(); i++) t[i] = double(dlc_rt::rng_bits(seed, stream, uint64_t(i)) % classes);
  return t;
}

// A float target that fits the loss: one-hot rows, 0/1 values or N(0, 1) values.
Tensor random_target(const ir::Graph& g, ValueId v, const std::string& loss, uint64_t seed) {
  if (loss == "sparse_categorical_crossentropy") return random_input(g, v, seed);
  Tensor t(g.type(v));
  uint64_t stream = dlc_rt::name_hash("target");
  if (loss == "categorical_crossentropy") {
    int64_t rows = t.shape()[0], classes = t.shape()[1];
    for (int64_t r = 0; r < rows; r++)
      t[r * classes + int64_t(dlc_rt::rng_bits(seed, stream, uint64_t(r)) % uint64_t(classes))] = 1;
    return t;
  }
  for (int64_t i = 0; i < t.numel(); i++)
    t[i] = loss == "binary_crossentropy" ? double(dlc_rt::rng_bits(seed, stream, uint64_t(i)) % 2)
                                         : double(float(dlc_rt::rng_normal(seed, stream, uint64_t(i))));
  return t;
}

} // namespace

GradCheckResult check_gradients(const ir::Graph& g, ValueId loss, const std::vector<ValueId>& wrt,
                                const Bindings& bindings, const GradCheckOptions& opt) {
  // The graph with its backward part appended keeps g's value ids: one evaluation gives
  // the analytic gradients and the unperturbed values the finite differences start from.
  ir::Graph with_grads = g;
  std::vector<ValueId> grads = differentiate(with_grads, loss, wrt);
  Checker checker(g, loss, ir::evaluate(with_grads, bindings, opt.eval), opt);
  GradCheckResult r;
  r.loss = checker.base_loss();
  std::vector<Probe> plan = plan_probes(checker, g, wrt, opt);
  for (size_t i = 0; i < wrt.size(); i++) {
    const Tensor* analytic = grads[i] == ir::kNoValue ? nullptr : &checker.value(grads[i]);
    r.values.push_back(checker.check(wrt[i], analytic, plan[i].entries, plan[i].downstream));
    r.values.back().over_budget = plan[i].unprobed;
  }
  return r;
}

GradCheckResult check_model_gradients(const ir::Graph& forward, const ir::TrainingSpec& spec,
                                      const GradCheckOptions& opt) {
  TrainingGraph tg = build_loss_graph(forward, spec, true);
  const ir::Graph& g = tg.graph;
  Bindings b = ir::init_params(g, opt.seed);
  for (ValueId in : g.inputs()) {
    size_t k = 0;
    while (k < tg.targets.size() && tg.targets[k] != in) k++;
    b[g.value(in).name] = k < tg.targets.size() ? random_target(g, in, spec.losses[k].type, opt.seed)
                                                : random_input(g, in, opt.seed);
  }
  std::vector<ValueId> wrt;
  for (ValueId p : g.params())
    if (g.value(p).trainable) wrt.push_back(p);
  return check_gradients(g, tg.loss, wrt, b, opt);
}

} // namespace dlc::passes
