// The lower pass (passes/lower.h): buffers, then each kernel's steps.
#include "passes/lower.h"

#include "ir/error.h"
#include "passes/lower_detail.h"
#include "passes/memplan.h"
#include "runtime/kernels/gemm.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace dlc::passes {

using namespace lower_detail;
using ir::ValueId;

int64_t Index::at(int64_t i) const {
  int64_t o = 0;
  for (const IndexTerm& t : terms) o += (t.mod ? (i / t.div) % t.mod : i / t.div) * t.mul;
  return o;
}

std::vector<ScalarArg> scalar_arguments(const ScalarExpr& e) {
  const ir::OpDef& op = ir::get_op(e.op_name);
  if (!op.scalar) throw Error(fmt::format("op '{}' has no scalar formula", e.op_name));
  const ir::ScalarForm& f = *op.scalar;
  std::vector<ScalarArg> out;
  for (size_t i = 0; i < e.args.size(); i++) {
    bool slot = int(i) >= 2 && int(i) < 2 + f.slots;
    out.push_back({slot ? ScalarArg::slot : ScalarArg::operand, int(i), ir::ScalarType::f32, 0, ""});
  }
  for (size_t k = e.args.size() - size_t(op.min_operands); k < f.absent.size(); k++)
    out.push_back({ScalarArg::constant, -1, ir::ScalarType::f32, f.absent[k].dflt, f.absent[k].name});
  for (const ir::ScalarAttr& a : f.attrs)
    out.push_back({ScalarArg::constant, -1, a.type, ir::scalar_attr_value(e.attrs, a), a.name});
  if (f.random)
    for (ScalarArg::Kind k : {ScalarArg::seed, ScalarArg::step, ScalarArg::training, ScalarArg::index})
      out.push_back({k, -1, ir::ScalarType::f32, 0, ""});
  return out;
}

namespace lower_detail {

int add_buffer(Program& p, const std::string& name, ValueId v, const ir::TensorType& t, Region r, BufferKind kind,
               int kernel) {
  Buffer b;
  b.name = name;
  b.value = v;
  b.type = t;
  b.region = r;
  b.kind = kind;
  b.kernel = kernel;
  b.bytes = t.bytes();
  b.size = align_up(b.bytes);
  p.buffers.push_back(b);
  return int(p.buffers.size()) - 1;
}

} // namespace lower_detail

namespace {

// A C identifier for user text: letters and digits kept, runs of anything else as one '_'.
std::string c_identifier(const std::string& s) {
  std::string out;
  for (char ch : s) {
    bool keep = std::isalnum(static_cast<unsigned char>(ch)) != 0;
    if (keep) out += ch;
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "kernel" : out;
}

// A kernel's name in code: what it computes, the values it writes joined by "_and_", an
// optimizer update as update_<param> (its state slots implied), e.g. "dense_1_relu",
// "dense_3_softmax_and_loss_and_d_dense_3_bias_add", "update_dense_3_kernel". Names that
// would repeat get _2, _3, ... in fusion order.
void name_kernels(Program& p) {
  const ir::Graph& g = p.graph;
  std::set<std::string> used;
  for (Kernel& k : p.kernels) {
    std::vector<std::string> parts;
    for (ValueId o : k.outputs) {
      const ir::Value& v = g.value(o);
      const ir::Node* n = v.node >= 0 ? &g.node(v.node) : nullptr;
      if (n && n->op->phase == ir::Phase::optimizer && n->op->update) {
        if (v.result_index == 0) parts.push_back("update_" + c_identifier(g.value(n->operands[0]).name));
        continue;
      }
      parts.push_back(c_identifier(v.name));
    }
    std::string name;
    for (const std::string& part : parts) name += (name.empty() ? "" : "_and_") + part;
    if (name.empty()) name = c_identifier(k.name);
    k.c_name = name;
    for (int count = 2; !used.insert(k.c_name).second; count++) k.c_name = fmt::format("{}_{}", name, count);
  }
}

// Marks the workspace argument of a call until the kernel's workspace buffer exists.
constexpr int kWorkspaceBuffer = -2;


// Kernel::prepare for the kernels of a program that prepares its weights (no updates)
// that read only parameters, constants and other such kernels' results, draw nothing at
// random, and write no output of the program and nothing with a batch axis.
void mark_prepare_kernels(Program& p, const std::vector<bool>& batched) {
  const ir::Graph& g = p.graph;
  if (!p.prepare_weights || !g.updates().empty()) return;
  std::vector<bool> ready(g.values().size(), false);
  for (const auto* list : {&g.params(), &g.constants()})
    for (ValueId v : *list) ready[size_t(v)] = true;
  std::set<ValueId> outputs;
  for (auto& o : g.outputs()) outputs.insert(base_value(g, o.value));
  for (bool changed = true; changed;) {
    changed = false;
    for (Kernel& k : p.kernels) {
      bool ok = !k.prepare;
      for (ValueId in : k.inputs) ok = ok && ready[size_t(base_value(g, in))];
      for (int n : k.nodes) ok = ok && !g.node(n).op->draws_random();
      for (ValueId o : k.outputs) ok = ok && !outputs.count(o) && !batched[size_t(o)];
      if (!ok) continue;
      k.prepare = changed = true;
      for (ValueId o : k.outputs) ready[size_t(o)] = true;
    }
  }
}

// A buffer for every value that lives in memory: constants, params and state (in the
// state region when an update writes them, else with the constants), inputs, and every
// kernel output (arena; a prepare kernel's: constants); an update's value computed in place and a view share the buffer
// of their target and base.
void make_value_buffers(Program& p) {
  const ir::Graph& g = p.graph;
  p.buffers.clear();
  p.buffer_of.assign(g.values().size(), -1);
  auto add = [&](ValueId v, Region r) {
    p.buffer_of[size_t(v)] = add_buffer(p, g.value(v).name, v, g.type(v), r, BufferKind::value);
  };
  std::set<ValueId> updated;
  for (auto& u : g.updates()) updated.insert(u.target);
  for (ValueId v : g.constants()) add(v, Region::constants);
  for (const auto* list : {&g.params(), &g.states()})
    for (ValueId v : *list) add(v, updated.count(v) ? Region::state : Region::constants);
  for (ValueId v : g.inputs()) add(v, Region::arena);
  std::set<ValueId> in_place_updates;
  for (const UpdateWrite& u : p.update_writes)
    if (!u.copy) p.buffer_of[size_t(u.value)] = p.buffer_of[size_t(u.target)], in_place_updates.insert(u.value);
  for (const Kernel& k : p.kernels)
    for (ValueId o : k.outputs)
      if (g.value(o).kind == ir::ValueKind::result && !in_place_updates.count(o))
        add(o, k.prepare ? Region::constants : Region::arena);
  for (int n : p.views) {
    ValueId r = g.node(n).results[0];
    p.buffer_of[size_t(r)] = p.buffer_of[size_t(base_value(g, r))];
  }
}

// Lowers one kernel of `p` into its steps, adding its temporaries and workspace to
// p.buffers.
class KernelLowering {
public:
  KernelLowering(Program& p, Kernel& k, const std::vector<bool>& batched)
      : p_(p), g_(p.graph), k_(k), batched_(batched), batch_(p.batch) {}

  void run();

private:
  Program& p_;
  const ir::Graph& g_;
  Kernel& k_;
  const std::vector<bool>& batched_;
  int64_t batch_;

  std::vector<int> uses_;                // body expression -> number of uses (args and stores)
  std::map<ValueId, int> final_expr_;    // anchor result -> the expression its call produces
  std::map<ValueId, Ref> where_;         // anchor result -> where its call writes it
  std::set<size_t> done_stores_;         // stores the anchors' calls already perform
  std::set<int> direct_outputs_;         // outputs an anchor writes directly
  std::vector<Step> steps_;

  Ref ref(ValueId v) const {
    int b = p_.buffer_of[size_t(v)];
    if (b < 0) throw Error(fmt::format("{}: value %{} has no buffer", k_.name, g_.value(v).name));
    return {b, 0, g_.type(v).dtype};
  }
  Ref temp(ValueId v) {
    int b = add_buffer(p_, fmt::format("{}.tmp", g_.value(v).name), v, g_.type(v), Region::arena,
                       BufferKind::temporary, k_.id);
    return {b, 0, g_.type(v).dtype};
  }
  int anchor_expr(ValueId v) const {
    for (size_t i = 0; i < k_.body.size(); i++)
      if (k_.body[i].kind == Expr::anchor && k_.body[i].value == v) return int(i);
    return -1;
  }
  int only_user(int e) const;
  void count_uses();
  void fold_epilogue(AnchorContext& c);
  bool safe_destination(ValueId out) const;
  void place_anchor(AnchorContext& c);
  void lower_loop();
  void add_workspace();
};

void KernelLowering::count_uses() {
  uses_.assign(k_.body.size(), 0);
  for (const Expr& e : k_.body)
    for (int a : e.args) uses_[size_t(a)]++;
  for (const Store& s : k_.stores) uses_[size_t(s.expr)]++;
}

// The one op expression using expression e, or -1 (none, several, or a store).
int KernelLowering::only_user(int e) const {
  if (uses_[size_t(e)] != 1) return -1;
  for (size_t i = 0; i < k_.body.size(); i++)
    for (int a : k_.body[i].args)
      if (a == e) return k_.body[i].kind == Expr::op ? int(i) : -1;
  return -1;
}

// anchor -> bias_add(anchor, bias[C]) -> activation, each used once: the GEMM or
// convolution applies them to its final sums, so the body need not.
void KernelLowering::fold_epilogue(AnchorContext& c) {
  ValueId v = c.node.results[0];
  int e = anchor_expr(v);
  final_expr_[v] = e;
  if (e < 0 || !c.node.op->takes_epilogue || g_.type(v).shape != k_.space) return;
  int user = only_user(e);
  if (user >= 0 && k_.body[size_t(user)].op_name == "bias_add" && k_.body[size_t(user)].args[0] == e) {
    const Expr& bias = k_.body[size_t(k_.body[size_t(user)].args[1])];
    if (bias.kind == Expr::load && bias.type.shape.rank() == 1 && bias.type.dtype == ir::DType::f32) {
      c.bias = ptr(ref(k_.inputs[size_t(bias.input)]), "bias");
      e = final_expr_[v] = user;
      user = only_user(e);
    }
  }
  if (user >= 0 && k_.body[size_t(user)].kind == Expr::op) {
    const Expr& act = k_.body[size_t(user)];
    if (int code = ir::get_op(act.op_name).epilogue_act) {
      c.act = code;
      c.slope = act.attrs.get_float("alpha", c.slope);
      final_expr_[v] = user;
    }
  }
}

// An output may receive an anchor's result directly when no input of the kernel shares
// its buffer (an update computed in place: the body still reads the old value). Its
// in-place pairing with an input is dropped, so that memplan never overlaps the two.
bool KernelLowering::safe_destination(ValueId out) const {
  for (ValueId in : k_.inputs)
    if (p_.buffer_of[size_t(in)] == p_.buffer_of[size_t(out)]) return false;
  return true;
}

void KernelLowering::place_anchor(AnchorContext& c) {
  for (size_t r = 0; r < c.node.results.size(); r++) {
    ValueId v = c.node.results[r];
    auto fe = final_expr_.find(v);
    int e = fe != final_expr_.end() ? fe->second : anchor_expr(v);
    final_expr_[v] = e;
    Ref dest;
    bool placed = false;
    for (size_t s = 0; s < k_.stores.size() && e >= 0; s++) {
      ValueId out = k_.outputs[size_t(k_.stores[s].output)];
      if (k_.stores[s].expr != e || g_.type(out) != g_.type(v) || !safe_destination(out)) continue;
      if (placed) continue; // a second output of the same value is copied by the loop
      dest = ref(out);
      placed = true;
      done_stores_.insert(s);
      direct_outputs_.insert(k_.stores[s].output);
    }
    if (!placed) dest = e < 0 && c.node.op->has_body ? Ref{} : temp(v); // a loop skips results nothing reads
    c.results.push_back(dest);
    where_[v] = dest;
  }
}

void KernelLowering::run() {
  count_uses();
  Ref workspace{kWorkspaceBuffer, 0, ir::DType::f32}; // add_workspace() makes the buffer
  for (int a : k_.anchors) {
    const ir::Node& n = g_.node(a);
    AnchorContext c{g_, n, {}, {}, {}, {}, batch_, workspace};
    for (ValueId o : n.operands) {
      c.operands.push_back(where_.count(o) ? where_.at(o) : ref(o));
      c.operand_batched.push_back(batched_[size_t(o)]);
    }
    for (ValueId r : n.results) c.result_batched.push_back(batched_[size_t(r)]);
    fold_epilogue(c);
    place_anchor(c);
    for (Step& s : n.op->has_body ? lower_scan(p_, k_, c) : lower_anchor(c)) steps_.push_back(std::move(s));
  }
  lower_loop();
  add_workspace();
  for (Step& s : steps_)
    if (s.kind == StepKind::loop && s.loop.trip.at(batch_) >= 2 * kParallelLoopGrain) s.loop.grain = kParallelLoopGrain;
  k_.steps = std::move(steps_);
  auto direct = [&](const std::pair<int, int>& io) { return direct_outputs_.count(io.first) > 0; };
  k_.in_place.erase(std::remove_if(k_.in_place.begin(), k_.in_place.end(), direct), k_.in_place.end());
}

// One workspace for the calls of the kernel that take one, sized for the most any of
// them needs at the compiled batch.
void KernelLowering::add_workspace() {
  int64_t floats = 0;
  for (const Step& s : steps_) floats = std::max(floats, s.call.workspace_floats);
  if (floats == 0) return;
  ir::TensorType t{ir::DType::f32, ir::Shape{floats}};
  int b = add_buffer(p_, k_.name + ".workspace", ir::kNoValue, t, Region::arena, BufferKind::workspace, k_.id);
  for (Step& s : steps_)
    for (Arg& a : s.call.args)
      if (a.kind == ArgKind::pointer && a.ref.buffer == kWorkspaceBuffer) a.ref.buffer = b;
}

// The loop over the kernel's space for the stores the anchors did not perform.
class LoopBuilder {
public:
  LoopBuilder(const ir::Shape& space) : space_(space) {}
  Loop loop;

  int operand(Ref r, Index idx, const std::string& name) {
    for (size_t i = 0; i < loop.operands.size(); i++) {
      const Operand& o = loop.operands[i];
      if (o.ref.buffer == r.buffer && o.ref.offset == r.offset && same(o.index, idx)) return int(i);
    }
    loop.operands.push_back({r, std::move(idx), name});
    return int(loop.operands.size()) - 1;
  }
  int add(ScalarExpr e) {
    loop.body.push_back(std::move(e));
    return int(loop.body.size()) - 1;
  }
  int read(Ref r, const ir::Shape& shape, const std::string& name) {
    ScalarExpr e;
    e.kind = ScalarExpr::read;
    e.operand = operand(r, broadcast_index(shape, space_), name);
    return add(std::move(e));
  }

  // A fused slice of `shape` (attrs axis, begin, size) whose shape is the space's.
  int read_slice(Ref r, const ir::Shape& shape, const ir::Attrs& attrs, const std::string& name) {
    StridedRead sr = slice_read(r, shape, attrs, space_);
    ScalarExpr e;
    e.kind = ScalarExpr::read;
    e.operand = operand(sr.ref, std::move(sr.index), name);
    return add(std::move(e));
  }

private:
  ir::Shape space_;
  static bool same(const Index& a, const Index& b) {
    if (a.terms.size() != b.terms.size()) return false;
    for (size_t i = 0; i < a.terms.size(); i++)
      if (a.terms[i].div != b.terms[i].div || a.terms[i].mod != b.terms[i].mod || a.terms[i].mul != b.terms[i].mul)
        return false;
    return true;
  }
};

void KernelLowering::lower_loop() {
  std::vector<size_t> stores;
  bool space_batched = false;
  for (size_t s = 0; s < k_.stores.size(); s++) {
    if (done_stores_.count(s)) continue;
    ValueId out = k_.outputs[size_t(k_.stores[s].output)];
    // A scalar anchor result (a loss) stored beside a wider space: its own one-element copy.
    if (g_.type(out).shape != k_.space) {
      ValueId v = k_.body[size_t(k_.stores[s].expr)].value;
      if (!where_.count(v) || g_.type(v) != g_.type(out))
        throw Error(fmt::format("{}: output %{} does not have the kernel's iteration space", k_.name, g_.value(out).name));
      LoopBuilder lb(g_.type(out).shape);
      int e = lb.read(where_.at(v), g_.type(v).shape, g_.value(v).name);
      lb.loop.stores.push_back({e, lb.operand(ref(out), broadcast_index(g_.type(out).shape, g_.type(out).shape), g_.value(out).name)});
      lb.loop.trip = Dims{g_.type(out).shape, batched_[size_t(out)], batch_}.all();
      steps_.push_back({StepKind::loop, {}, std::move(lb.loop), {}});
      continue;
    }
    stores.push_back(s);
    space_batched = space_batched || batched_[size_t(out)];
  }
  if (stores.empty()) return;
  LoopBuilder lb(k_.space);
  std::map<int, int> mapped; // body expression -> loop expression
  std::map<int, ValueId> from_anchor;
  for (auto& [v, e] : final_expr_)
    if (e >= 0) from_anchor[e] = v;
  std::function<int(int)> map = [&](int i) -> int {
    if (auto m = mapped.find(i); m != mapped.end()) return m->second;
    const Expr& e = k_.body[size_t(i)];
    int out;
    if (auto a = from_anchor.find(i); a != from_anchor.end()) {
      out = lb.read(where_.at(a->second), g_.type(a->second).shape, g_.value(a->second).name);
    } else if (e.kind == Expr::load) {
      ValueId in = k_.inputs[size_t(e.input)];
      if (g_.type(in).dtype != ir::DType::f32)
        throw Error(fmt::format("{}: element-wise load of non-f32 %{}", k_.name, g_.value(in).name));
      if (e.index == LoadIndex::slice) out = lb.read_slice(ref(in), g_.type(in).shape, e.attrs, g_.value(in).name);
      else out = lb.read(ref(in), g_.type(in).shape, g_.value(in).name);
    } else if (e.kind == Expr::anchor) {
      throw Error(fmt::format("{}: anchor %{} read before it is computed", k_.name, g_.value(e.value).name));
    } else {
      ScalarExpr s;
      s.kind = e.kind == Expr::project ? ScalarExpr::project : ScalarExpr::op;
      s.op_name = e.op_name;
      s.attrs = e.attrs;
      s.result = e.result;
      if (e.value != ir::kNoValue) s.value = g_.value(e.value).name;
      for (int a : e.args) s.args.push_back(map(a));
      out = lb.add(std::move(s));
    }
    return mapped[i] = out;
  };
  for (size_t s : stores) {
    ValueId out = k_.outputs[size_t(k_.stores[s].output)];
    int e = map(k_.stores[s].expr);
    lb.loop.stores.push_back({e, lb.operand(ref(out), broadcast_index(k_.space, k_.space), g_.value(out).name)});
  }
  lb.loop.trip = Dims{k_.space, space_batched, batch_}.all();
  steps_.push_back({StepKind::loop, {}, std::move(lb.loop), {}});
}

// The compiled batch: the graph's declared batch, else axis 0 of its first input of rank
// >= 1 (a graph that declares none is run whole: nothing is batched).
int64_t program_batch(const ir::Graph& g) {
  if (g.batch > 0) return g.batch;
  for (ValueId v : g.inputs())
    if (g.type(v).shape.rank() >= 1) return g.type(v).shape[0];
  return 1;
}

void add_interface(Program& p, const std::vector<bool>& batched) {
  const ir::Graph& g = p.graph;
  auto named = [&](ValueId v, const std::string& name, bool output) {
    int b = p.buffer_of[size_t(v)];
    if (b < 0) return; // nothing reads it: it needs no memory
    NamedValue n;
    n.name = name;
    n.kind = g.value(v).kind;
    n.output = output;
    n.type = g.type(v);
    n.ref = {b, 0, n.type.dtype};
    n.batched = batched[size_t(v)];
    n.sample_elems = n.batched ? n.type.shape.numel() / p.batch : n.type.shape.numel();
    if (n.kind == ir::ValueKind::constant) n.data.assign(g.value(v).data.begin(), g.value(v).data.end());
    p.interface.push_back(std::move(n));
  };
  p.interface.clear();
  for (ValueId v : g.inputs()) named(v, g.value(v).name, false);
  for (auto& o : g.outputs()) named(o.value, o.name, true);
  for (ValueId v : g.params()) named(v, g.value(v).name, false);
  for (ValueId v : g.states()) named(v, g.value(v).name, false);
  for (ValueId v : g.constants()) named(v, g.value(v).name, false);
  for (const NamedValue& c : p.body_constants) p.interface.push_back(c);
}

} // namespace

void lower(Program& p) {
  if (!p.fused) throw Error("lower: the program has not been fused");
  p.batch = program_batch(p.graph);
  std::vector<bool> batched = !p.inputs_batched.empty() ? ir::batched_values(p.graph, p.inputs_batched, p.batch)
                              : p.graph.batch > 0        ? batched_values(p.graph, p.batch)
                                                         : std::vector<bool>(p.graph.values().size(), false);
  p.body_constants.clear();
  mark_prepare_kernels(p, batched);
  make_value_buffers(p);
  for (Kernel& k : p.kernels) KernelLowering(p, k, batched).run();
  name_kernels(p);
  // A worker thread packs its part of a product into its own buffer: at most what the
  // whole product's workspace holds.
  int64_t worker_floats = 0;
  for (const Buffer& b : p.buffers)
    if (b.kind == BufferKind::workspace) worker_floats = std::max(worker_floats, b.type.shape.numel());
  p.thread_workspace_bytes = worker_floats ? dlc_rt::thread_workspace_bytes(worker_floats) : 0;
  p.uses_run_values = false;
  for (const Kernel& k : p.kernels)
    for (const Step& s : k.steps) {
      for (const ScalarExpr& e : s.loop.body)
        if (e.kind == ScalarExpr::op && ir::get_op(e.op_name).scalar->random) p.uses_run_values = true;
      for (const Arg& a : s.call.args)
        if (a.kind == ArgKind::run_value) p.uses_run_values = true;
    } // (a loop body's steps never draw: passes/lower_loop.cpp refuses such bodies)
  add_interface(p, batched);
  p.lowered = true;
}

} // namespace dlc::passes
