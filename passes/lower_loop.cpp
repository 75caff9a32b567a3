// Lowering a loop (`scan`, ir/ops/loop_ops.cpp) into a Repeat step.
//
// The body is compiled on its own by the same pipeline (clean-up, fusion, lowering,
// schedule, memory plan): its carried values and the step's slices of the sequences are
// its inputs, the invariants (weights) its parameters. Its arena becomes one buffer of
// the enclosing program (`<loop>.body`, live while the loop's kernel runs), inside which
// every body buffer keeps the place the body's own plan gave it; its constants join the
// enclosing program's; its parameters are the enclosing program's operands themselves,
// read in place. The kernel is then:
//
//   copy the initial carried values into the body's inputs
//   repeat T times (t = 0 .. T-1, or down with `reverse`):
//     copy step t of each sequence into the body's slice inputs   (strided reads)
//     the body's kernels, in the body's schedule
//     copy each per-step output into step t of its stacked result (strided writes)
//     copy each carried value the body computed into the body's input for it
//   copy the final carried values out
//
// The body's inputs stay live to its end (PassOptions::loop_body), so no body value
// shares their memory and the end-of-step copies never overwrite what another copy still
// reads. The copies move n·H floats per carried value and step, small next to the step's
// recurrent product (n·H·G·H multiply-adds for G gates).
#include "passes/lower_detail.h"

#include "ir/error.h"
#include "passes/memplan.h"
#include "passes/pass_manager.h"
#include "passes/rewrite.h"

#include <algorithm>

namespace dlc::passes::lower_detail {

namespace {

using ir::ValueId;

// The body as a graph of its own: inputs for the carried values and the step's slices,
// params for the invariants, the body's constants, nodes and outputs as they are.
ir::Graph body_graph(const ir::Node& scan, size_t varying, int64_t batch) {
  const ir::Graph& b = *scan.body;
  ir::Graph g;
  g.name = scan.name + ".body";
  g.batch = batch;
  std::vector<ValueId> inputs;
  for (size_t i = 0; i < b.inputs().size(); i++) {
    const ir::Value& v = b.value(b.inputs()[i]);
    inputs.push_back(i < varying ? g.add_input(v.name, v.type) : g.add_param(v.name, v.type, {}, false));
  }
  auto map = copy_nodes(g, b, inputs, true);
  for (auto& o : b.outputs()) g.add_output(o.name, map.at(o.value));
  return g;
}

bool any_repeat(const std::vector<Step>& steps) {
  for (const Step& s : steps)
    if (s.kind == StepKind::repeat) return true;
  return false;
}

// A loop copying `trip` f32 elements: to[to_index(i) + t*to_stride] = from[from_index(i) + t*from_stride].
Step copy_step(Extent trip, Operand from, Operand to, int64_t batch) {
  Step s;
  s.kind = StepKind::loop;
  s.loop.trip = trip;
  s.loop.operands = {std::move(from), std::move(to)};
  ScalarExpr read;
  read.kind = ScalarExpr::read;
  read.operand = 0;
  s.loop.body = {read};
  s.loop.stores = {{0, 1}};
  if (trip.at(batch) >= 2 * kParallelLoopGrain) s.loop.grain = kParallelLoopGrain;
  return s;
}

Index identity_index() { return Index{{IndexTerm{}}}; }

// Step t's slice [A, inner] of a sequence [A, T, inner]: element i at (i/inner)·T·inner + i%inner + t·inner.
Index step_index(int64_t steps, int64_t inner) {
  if (inner == 1) return Index{{IndexTerm{1, 0, steps}}};
  return Index{{IndexTerm{inner, 0, steps * inner}, IndexTerm{1, inner, 1}}};
}

class ScanLowering {
public:
  ScanLowering(Program& p, const Kernel& k, const AnchorContext& c) : p_(p), k_(k), c_(c), n_(c.node) {}

  std::vector<Step> run();

private:
  Program& p_;
  const Kernel& k_;
  const AnchorContext& c_;
  const ir::Node& n_;
  Program body_;
  std::vector<Ref> remap_; // body buffer -> where it lies in p_
  std::vector<bool> inputs_batched_; // per body input: it carries the batch

  void compile_body(size_t varying);
  void import_buffers();
  Ref in_body(const Ref& r) const;
  void remap(std::vector<Step>& steps) const;
  Ref body_value(ValueId v) const;
  void check_f32(const ir::TensorType& t, const std::string& what) const {
    if (t.dtype != ir::DType::f32)
      throw Error(fmt::format("loop '{}': {} is {}: the compiled backends carry f32 only", n_.name, what, t.str()));
  }
};

void ScanLowering::compile_body(size_t varying) {
  PassOptions o;
  o.loop_body = true;
  size_t k = size_t(n_.attrs.get_int("carries"));
  inputs_batched_ = ir::loop_body_batched(*n_.body, c_.operand_batched, k, c_.batch, n_.name);
  o.inputs_batched.assign(inputs_batched_.begin(), inputs_batched_.begin() + long(varying));
  body_ = run_pipeline(body_graph(n_, varying, c_.batch), default_pipeline(), o);
  if (body_.uses_run_values)
    throw Error(fmt::format("loop '{}': its body draws random numbers, which compiled loops do not do yet", n_.name));
  for (const Kernel& bk : body_.kernels)
    if (any_repeat(bk.steps)) throw Error(fmt::format("loop '{}': a loop inside a loop's body is not compiled yet", n_.name));
}

// Every body buffer gets its place in p_: the arena's inside one buffer of p_, the
// constants as constants of p_, the parameters (invariants) as the loop's operands.
void ScanLowering::import_buffers() {
  const ir::Graph& bg = body_.graph;
  int64_t arena = body_.arena_size();
  int whole = add_buffer(p_, n_.name + ".body", ir::kNoValue, {ir::DType::f32, ir::Shape{std::max<int64_t>(arena / 4, 1)}},
                         Region::arena, BufferKind::temporary, k_.id);
  size_t first_invariant = size_t(n_.attrs.get_int("carries") + n_.attrs.get_int("sequences"));
  remap_.assign(body_.buffers.size(), Ref{});
  for (size_t i = 0; i < body_.buffers.size(); i++) {
    const Buffer& b = body_.buffers[i];
    // A body value keeps its name ("lstm_1.z"); the body's inputs are named by the loop's ("lstm_1.loop.h").
    std::string name = b.name.find('.') == std::string::npos ? n_.name + "." + b.name : b.name;
    if (b.region == Region::arena) {
      int nb = add_buffer(p_, name, ir::kNoValue, b.type, Region::arena,
                          b.kind == BufferKind::workspace ? BufferKind::workspace : BufferKind::temporary, k_.id);
      p_.buffers[size_t(nb)].parent = whole;
      p_.buffers[size_t(nb)].parent_offset = b.offset;
      remap_[i] = {nb, 0, b.type.dtype};
      continue;
    }
    const ir::Value& v = bg.value(b.value);
    if (v.kind == ir::ValueKind::param) {
      size_t j = size_t(std::find(bg.params().begin(), bg.params().end(), v.id) - bg.params().begin());
      remap_[i] = c_.operands.at(first_invariant + j);
    } else if (v.kind == ir::ValueKind::constant) {
      int nb = add_buffer(p_, name, ir::kNoValue, b.type, Region::constants, BufferKind::value);
      NamedValue nv;
      nv.name = name;
      nv.kind = ir::ValueKind::constant;
      nv.type = b.type;
      nv.ref = {nb, 0, b.type.dtype};
      nv.sample_elems = b.type.shape.numel();
      nv.data.assign(v.data.begin(), v.data.end());
      remap_[i] = nv.ref;
      p_.body_constants.push_back(std::move(nv));
    } else {
      throw Error(fmt::format("loop '{}': body value '{}' lives in the {} region", n_.name, b.name, region_name(b.region)));
    }
  }
}

Ref ScanLowering::in_body(const Ref& r) const {
  Ref to = remap_.at(size_t(r.buffer));
  return {to.buffer, to.offset + r.offset, r.dtype};
}

void ScanLowering::remap(std::vector<Step>& steps) const {
  for (Step& s : steps) {
    for (Arg& a : s.call.args)
      if (a.kind == ArgKind::pointer) a.ref = in_body(a.ref);
    for (Operand& o : s.loop.operands) o.ref = in_body(o.ref);
  }
}

Ref ScanLowering::body_value(ValueId v) const {
  int b = body_.buffer_of[size_t(v)];
  if (b < 0) throw Error(fmt::format("loop '{}': body value '{}' has no buffer", n_.name, body_.graph.value(v).name));
  return in_body({b, 0, body_.graph.type(v).dtype});
}

std::vector<Step> ScanLowering::run() {
  size_t k = size_t(n_.attrs.get_int("carries")), s = size_t(n_.attrs.get_int("sequences"));
  bool reverse = n_.attrs.get_bool("reverse", false);
  int64_t steps = s > 0 ? c_.in_type(k).shape[1] : n_.attrs.get_int("steps");
  for (size_t i = 0; i < k + s; i++) check_f32(c_.in_type(i), fmt::format("operand {}", i));
  compile_body(k + s);
  import_buffers();
  const ir::Graph& bg = body_.graph;
  auto operand = [](Ref r, Index idx, std::string name, int64_t stride = 0) {
    return Operand{r, std::move(idx), std::move(name), stride};
  };
  auto carried_in = [&](size_t i) { return body_value(bg.inputs()[i]); };
  // A carried value's elements, as the body holds it (a zero initial state without a batch
  // axis still enters a batched body as its first n samples).
  auto carried = [&](size_t i) { return Dims{c_.in_type(i).shape, bool(inputs_batched_[i]), c_.batch}.all(); };
  std::vector<Step> out;
  for (size_t i = 0; i < k; i++)
    out.push_back(copy_step(carried(i), operand(c_.operands[i], identity_index(), bg.value(bg.inputs()[i]).name),
                            operand(carried_in(i), identity_index(), bg.value(bg.inputs()[i]).name), c_.batch));

  Step rep;
  rep.kind = StepKind::repeat;
  rep.repeat.trip = steps;
  rep.repeat.reverse = reverse;
  rep.repeat.name = n_.name;
  std::vector<Step>& body = rep.repeat.steps;
  for (size_t j = k; j < k + s; j++) { // step t of each sequence into the body's input
    const ir::Shape& sh = c_.in_type(j).shape;
    int64_t inner = sh.numel() / (sh[0] * steps);
    Extent trip = c_.in_dims(j).all();
    trip.per /= steps;
    std::string name = bg.value(bg.inputs()[j]).name;
    body.push_back(copy_step(trip, operand(c_.operands[j], step_index(steps, inner), name, inner),
                             operand(carried_in(j), identity_index(), name), c_.batch));
  }
  for (const Kernel& bk : body_.kernels) {
    std::vector<Step> ks = bk.steps;
    remap(ks);
    for (Step& st : ks) body.push_back(std::move(st));
  }
  for (size_t i = k; i < bg.outputs().size(); i++) { // per-step outputs into step t of the results
    if (c_.results[i].buffer < 0) continue;          // nothing reads it
    const ir::TensorType& t = c_.out_type(i);
    check_f32(t, fmt::format("result {}", i));
    int64_t inner = t.shape.numel() / (t.shape[0] * steps);
    Extent trip = c_.out_dims(i).all();
    trip.per /= steps;
    const std::string& name = bg.outputs()[i].name;
    body.push_back(copy_step(trip, operand(body_value(bg.outputs()[i].value), identity_index(), name),
                             operand(c_.results[i], step_index(steps, inner), name, inner), c_.batch));
  }
  for (size_t i = 0; i < k; i++) { // the carried values into the next step's inputs
    Ref from = body_value(bg.outputs()[i].value), to = carried_in(i);
    if (from.buffer == to.buffer && from.offset == to.offset) continue; // passed through unchanged
    for (size_t j = 0; j < k; j++)
      if (j != i && from.buffer == carried_in(j).buffer)
        throw Error(fmt::format("loop '{}': carried value {} becomes carried value {} unchanged, which compiled loops "
                                "do not do yet", n_.name, j, i));
    const std::string& name = bg.outputs()[i].name;
    body.push_back(copy_step(carried(i), operand(from, identity_index(), name),
                             operand(to, identity_index(), name), c_.batch));
  }
  out.push_back(std::move(rep));
  for (size_t i = 0; i < k; i++)
    if (c_.results[i].buffer >= 0)
      out.push_back(copy_step(carried(i), operand(carried_in(i), identity_index(), bg.outputs()[i].name),
                              operand(c_.results[i], identity_index(), bg.outputs()[i].name), c_.batch));
  return out;
}

} // namespace

std::vector<Step> lower_scan(Program& p, const Kernel& k, const AnchorContext& c) {
  return ScanLowering(p, k, c).run();
}

} // namespace dlc::passes::lower_detail
