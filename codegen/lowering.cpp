// From a planned Program to steps (codegen/lowering.h): per kernel, where each anchor's
// result goes (straight into the output it is stored to when that is safe, otherwise a
// temporary after the planned arena), which bias/activation epilogue folds into a GEMM or
// convolution, and the element-wise loop that remains, with its index arithmetic.
#include "codegen/lowering.h"

#include "codegen/lowering_detail.h"
#include "ir/error.h"

#include <algorithm>
#include <map>
#include <set>

namespace dlc::codegen {

using namespace lowering_detail;
using ir::ValueId;
using passes::Expr;
using passes::Kernel;
using passes::Region;

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
    out.push_back({slot ? ScalarArg::slot : ScalarArg::operand, int(i)});
  }
  for (size_t k = e.args.size() - size_t(op.min_operands); k < f.absent.size(); k++)
    out.push_back({ScalarArg::constant, -1, ir::ScalarType::f32, f.absent[k]});
  for (const ir::ScalarAttr& a : f.attrs) out.push_back({ScalarArg::constant, -1, a.type, ir::scalar_attr_value(e.attrs, a)});
  if (f.random)
    for (ScalarArg::Kind k : {ScalarArg::seed, ScalarArg::step, ScalarArg::training, ScalarArg::index}) out.push_back({k});
  return out;
}

const NamedValue* Lowered::find(const std::string& name, bool output) const {
  for (const NamedValue& v : values)
    if (v.name == name && v.output == output) return &v;
  return nullptr;
}

namespace {

int64_t align(int64_t bytes) { return (bytes + passes::kAlignment - 1) / passes::kAlignment * passes::kAlignment; }

std::string c_identifier(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

// Lowers one kernel; temporaries are placed from `temp_base` (bytes into the arena).
class KernelLowering {
public:
  KernelLowering(const passes::Program& p, const Kernel& k, const std::vector<bool>& batched, int64_t batch,
                 int64_t temp_base)
      : p_(p), g_(p.graph), k_(k), batched_(batched), batch_(batch), temp_top_(temp_base) {}

  LoweredKernel run();
  int64_t temp_end() const { return temp_top_; }

private:
  const passes::Program& p_;
  const ir::Graph& g_;
  const Kernel& k_;
  const std::vector<bool>& batched_;
  int64_t batch_;
  int64_t temp_top_;

  std::vector<int> uses_;                // body expression -> number of uses (args and stores)
  std::map<ValueId, int> final_expr_;    // anchor result -> the expression its call produces
  std::map<ValueId, Ref> where_;         // anchor result -> where its call writes it
  std::set<size_t> done_stores_;         // stores the anchors' calls already perform
  std::vector<Step> steps_;

  const passes::Buffer& buffer(ValueId v) const {
    int b = p_.buffer_of[size_t(v)];
    if (b < 0) throw Error(fmt::format("{}: value %{} has no buffer", k_.name, g_.value(v).name));
    return p_.buffers[size_t(b)];
  }
  Ref ref(ValueId v) const {
    const passes::Buffer& b = buffer(v);
    return {b.region, b.offset, b.type.dtype};
  }
  Ref temp(const ir::TensorType& t) {
    Ref r{Region::arena, align(temp_top_), t.dtype};
    temp_top_ = r.offset + align(t.bytes());
    return r;
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
};

void KernelLowering::count_uses() {
  uses_.assign(k_.body.size(), 0);
  for (const Expr& e : k_.body)
    for (int a : e.args) uses_[size_t(a)]++;
  for (const passes::Store& s : k_.stores) uses_[size_t(s.expr)]++;
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

// An output may receive an anchor's result directly when its memory overlaps no input
// of the kernel (an in-place output shares an input's bytes, which the body still reads).
bool KernelLowering::safe_destination(ValueId out) const {
  const passes::Buffer& o = buffer(out);
  for (ValueId in : k_.inputs) {
    const passes::Buffer& i = buffer(in);
    if (i.region == o.region && i.offset < o.offset + o.size && o.offset < i.offset + i.size) return false;
  }
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
      if (!placed) dest = ref(out), placed = true;
      else continue; // a second output of the same value is copied by the loop
      done_stores_.insert(s);
    }
    if (!placed) dest = temp(g_.type(v));
    c.results.push_back(dest);
    where_[v] = dest;
  }
}

LoweredKernel KernelLowering::run() {
  count_uses();
  Ref workspace{Region::arena, -1, ir::DType::f32}; // patched by lower()
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
    for (Step& s : lower_anchor(c)) steps_.push_back(std::move(s));
  }
  lower_loop();
  return {k_.id, k_.name, c_identifier(k_.name), std::move(steps_)};
}

// The loop over the kernel's space for the stores the anchors did not perform.
class LoopBuilder {
public:
  LoopBuilder(const ir::Shape& space) : space_(space) {}
  Loop loop;

  int operand(Ref r, Index idx, const std::string& name) {
    for (size_t i = 0; i < loop.operands.size(); i++) {
      const Operand& o = loop.operands[i];
      if (o.ref.region == r.region && o.ref.offset == r.offset && same(o.index, idx)) return int(i);
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
      steps_.push_back({StepKind::loop, {}, std::move(lb.loop)});
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
      if (e.index == passes::LoadIndex::slice) out = lb.read_slice(ref(in), g_.type(in).shape, e.attrs, g_.value(in).name);
      else out = lb.read(ref(in), g_.type(in).shape, g_.value(in).name);
    } else if (e.kind == Expr::anchor) {
      throw Error(fmt::format("{}: anchor %{} read before it is computed", k_.name, g_.value(e.value).name));
    } else {
      ScalarExpr s;
      s.kind = e.kind == Expr::project ? ScalarExpr::project : ScalarExpr::op;
      s.op_name = e.op_name;
      s.attrs = e.attrs;
      s.result = e.result;
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
  steps_.push_back({StepKind::loop, {}, std::move(lb.loop)});
}

// The compiled batch: axis 0 of the graph's inputs of rank >= 1.
int64_t program_batch(const ir::Graph& g) {
  for (ValueId v : g.inputs())
    if (g.type(v).shape.rank() >= 1) return g.type(v).shape[0];
  return 1;
}

void add_named_values(const passes::Program& p, const std::vector<bool>& batched, Lowered& l) {
  const ir::Graph& g = p.graph;
  auto named = [&](ValueId v, const std::string& name, bool output) {
    int b = p.buffer_of[size_t(v)];
    if (b < 0) return; // nothing reads it: it needs no memory
    const passes::Buffer& buf = p.buffers[size_t(b)];
    NamedValue n;
    n.name = name;
    n.kind = g.value(v).kind;
    n.output = output;
    n.type = g.type(v);
    n.ref = {buf.region, buf.offset, n.type.dtype};
    n.batched = batched[size_t(v)];
    n.sample_elems = n.batched ? n.type.shape.numel() / l.batch : n.type.shape.numel();
    if (n.kind == ir::ValueKind::constant) n.data.assign(g.value(v).data.begin(), g.value(v).data.end());
    l.values.push_back(std::move(n));
  };
  for (ValueId v : g.inputs()) named(v, g.value(v).name, false);
  for (auto& o : g.outputs()) named(o.value, o.name, true);
  for (ValueId v : g.params()) named(v, g.value(v).name, false);
  for (ValueId v : g.states()) named(v, g.value(v).name, false);
  for (ValueId v : g.constants()) named(v, g.value(v).name, false);
}

} // namespace

Lowered lower(const passes::Program& p) {
  if (!p.planned) throw Error("lowering: the program has not been planned");
  Lowered l;
  l.batch = program_batch(p.graph);
  std::vector<bool> batched = batched_values(p.graph, l.batch);
  l.region_size = p.region_size;
  l.planned_arena = p.arena_size();
  int64_t temps_end = align(l.planned_arena);
  for (const Kernel& k : p.kernels) {
    KernelLowering kl(p, k, batched, l.batch, align(l.planned_arena));
    l.kernels.push_back(kl.run());
    temps_end = std::max(temps_end, align(kl.temp_end()));
  }
  int64_t workspace_floats = 0; // the most any call's workspace needs
  for (LoweredKernel& k : l.kernels)
    for (Step& s : k.steps) {
      for (Arg& a : s.call.args)
        if (a.kind == ArgKind::pointer && a.ref.offset < 0) {
          a.ref.offset = temps_end;
          workspace_floats = std::max(workspace_floats, s.call.workspace_floats);
        }
      for (ScalarExpr& e : s.loop.body) l.uses_run_values = l.uses_run_values || e.op_name == "dropout";
      if (s.kind == StepKind::loop && s.loop.trip.at(l.batch) >= 2 * kParallelLoopGrain) s.loop.grain = kParallelLoopGrain;
    }
  l.workspace_offset = workspace_floats > 0 ? temps_end : 0;
  l.region_size[size_t(Region::arena)] = temps_end + align(workspace_floats * int64_t(sizeof(float)));
  add_named_values(p, batched, l);
  return l;
}

namespace {

void move_ref(Ref& r, const std::vector<std::pair<NamedValue*, const NamedValue*>>& moves) {
  for (auto& [from, to] : moves) {
    int64_t bytes = from->type.bytes();
    if (r.region == from->ref.region && r.offset >= from->ref.offset && r.offset < from->ref.offset + bytes) {
      r.offset = to->ref.offset + (r.offset - from->ref.offset);
      r.region = to->ref.region;
      return;
    }
  }
}

} // namespace

void share_persistent(Lowered& infer, const Lowered& train) {
  std::vector<std::pair<NamedValue*, const NamedValue*>> moves;
  for (NamedValue& v : infer.values) {
    if (v.output || (v.kind != ir::ValueKind::param && v.kind != ir::ValueKind::state)) continue;
    const NamedValue* t = train.find(v.name);
    if (t && t->ref.region == Region::state && t->type == v.type) moves.push_back({&v, t});
  }
  for (LoweredKernel& k : infer.kernels)
    for (Step& s : k.steps) {
      for (Arg& a : s.call.args)
        if (a.kind == ArgKind::pointer) move_ref(a.ref, moves);
      for (Operand& o : s.loop.operands) move_ref(o.ref, moves);
    }
  for (auto& [from, to] : moves) from->ref = to->ref;
}

} // namespace dlc::codegen
