#include "passes/program_eval.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

namespace dlc::passes {

using ir::Tensor;
using ir::ValueId;

namespace {

struct Memory {
  std::array<std::vector<uint8_t>, kRegions> region;

  uint8_t* at(const Buffer& b) { return region[size_t(b.region)].data() + b.offset; }
};

template <typename T> void write_as(uint8_t* dst, const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); i++) {
    T v = T(t[i]);
    std::memcpy(dst + i * int64_t(sizeof(T)), &v, sizeof(T));
  }
}
template <typename T> void read_as(const uint8_t* src, Tensor& t) {
  for (int64_t i = 0; i < t.numel(); i++) {
    T v;
    std::memcpy(&v, src + i * int64_t(sizeof(T)), sizeof(T));
    t[i] = double(v);
  }
}

void store(uint8_t* dst, const Tensor& t) {
  switch (t.type.dtype) {
  case ir::DType::f32: return write_as<float>(dst, t);
  case ir::DType::i32: return write_as<int32_t>(dst, t);
  case ir::DType::i64: return write_as<int64_t>(dst, t);
  case ir::DType::boolean: return write_as<uint8_t>(dst, t);
  default: throw Error(fmt::format("program evaluator: no storage for {}", t.type.str()));
  }
}

Tensor load(const uint8_t* src, const ir::TensorType& type) {
  Tensor t(type);
  switch (type.dtype) {
  case ir::DType::f32: read_as<float>(src, t); break;
  case ir::DType::i32: read_as<int32_t>(src, t); break;
  case ir::DType::i64: read_as<int64_t>(src, t); break;
  case ir::DType::boolean: read_as<uint8_t>(src, t); break;
  default: throw Error(fmt::format("program evaluator: no storage for {}", type.str()));
  }
  return t;
}

const Buffer& buffer(const Program& p, ValueId v) {
  int b = p.buffer_of[size_t(v)];
  if (b < 0) throw Error(fmt::format("program evaluator: %{} has no buffer", p.graph.value(v).name));
  return p.buffers[size_t(b)];
}

// Fills the regions: constants from the graph, params/state/inputs from the bindings;
// the arena starts as NaN so that a read of unwritten memory shows.
void fill(const Program& p, Memory& m, const ir::Bindings& bindings) {
  for (int r = 0; r < kRegions; r++) m.region[size_t(r)].assign(size_t(p.region_size[size_t(r)]), 0);
  auto& arena = m.region[size_t(Region::arena)];
  float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = 0; i + 4 <= arena.size(); i += 4) std::memcpy(&arena[i], &nan, 4);
  const ir::Graph& g = p.graph;
  for (const ir::Value& v : g.values()) {
    if (v.kind == ir::ValueKind::result || p.buffer_of[size_t(v.id)] < 0) continue;
    if (v.kind == ir::ValueKind::constant) {
      store(m.at(buffer(p, v.id)), Tensor(v.type, v.data));
      continue;
    }
    auto it = bindings.find(v.name);
    if (it == bindings.end())
      throw Error(fmt::format("no value given for {} '{}'", ir::value_kind_name(v.kind), v.name));
    if (it->second.type != v.type)
      throw Error(fmt::format("{} '{}' expects {}, got {}", ir::value_kind_name(v.kind), v.name,
                              v.type.str(), it->second.type.str()));
    store(m.at(buffer(p, v.id)), it->second);
  }
}

// Evaluates op expression `e`; its results beyond the first go to `extra`.
void run_expr(const Kernel& k, const Expr& e, std::vector<Tensor>& vals, std::vector<Tensor>& extra,
              const ir::EvalContext& ctx) {
  ir::Node n;
  n.op = &ir::get_op(e.op_name);
  n.name = k.name;
  n.attrs = e.attrs;
  const ir::EvalFn* fn = ir::find_eval(e.op_name);
  if (!fn) throw Error(fmt::format("{}: the interpreter has no kernel for {}", k.name, e.op_name));
  std::vector<const Tensor*> in;
  for (int a : e.args) in.push_back(&vals[size_t(a)]);
  std::vector<ir::TensorType> in_types;
  for (const Tensor* t : in) in_types.push_back(t->type);
  std::vector<Tensor> out;
  for (const ir::TensorType& t : ir::infer_types(*n.op, n.name, in_types, n.attrs)) out.emplace_back(t);
  (*fn)(n, in, out, ctx);
  vals.push_back(std::move(out[0]));
  extra = std::move(out);
}

// A fused slice load: the interpreter's slice of the loaded input.
Tensor slice_of(const Tensor& x, const Expr& e, const ir::EvalContext& ctx) {
  ir::Node n;
  n.op = &ir::get_op("slice");
  n.name = "slice";
  n.attrs = e.attrs;
  std::vector<Tensor> out{Tensor(e.type)};
  (*ir::find_eval("slice"))(n, {&x}, out, ctx);
  return std::move(out[0]);
}

void run_kernel(const Program& p, const Kernel& k, Memory& m, const ir::EvalContext& ctx) {
  const ir::Graph& g = p.graph;
  std::map<ValueId, Tensor> env; // kernel inputs and anchor results
  for (ValueId in : k.inputs) env[in] = load(m.at(buffer(p, in)), g.type(in));
  for (int a : k.anchors) {
    const ir::Node& n = g.node(a);
    const ir::EvalFn* fn = ir::find_eval(n.op->name);
    if (!fn) throw Error(fmt::format("{}: the interpreter has no kernel for {}", k.name, n.op->name));
    std::vector<const Tensor*> in;
    for (ValueId o : n.operands) in.push_back(&env.at(o));
    std::vector<Tensor> out;
    for (ValueId r : n.results) out.emplace_back(g.type(r));
    (*fn)(n, in, out, ctx);
    for (size_t r = 0; r < out.size(); r++) {
      if (ctx.precision == ir::Precision::f32) out[r].round_to_f32();
      env[n.results[r]] = std::move(out[r]);
    }
  }
  std::vector<Tensor> vals;
  std::map<int, std::vector<Tensor>> results; // op expression -> all its results
  for (const Expr& e : k.body) {
    if (e.kind == Expr::op) run_expr(k, e, vals, results[int(vals.size())], ctx);
    else if (e.kind == Expr::project) vals.push_back(results.at(e.args[0]).at(size_t(e.result)));
    else if (e.kind == Expr::load && e.index == LoadIndex::slice) vals.push_back(slice_of(env.at(k.inputs[size_t(e.input)]), e, ctx));
    else vals.push_back(e.kind == Expr::load ? env.at(k.inputs[size_t(e.input)]) : env.at(e.value));
    if (ctx.precision == ir::Precision::f32) vals.back().round_to_f32();
  }
  for (const Store& s : k.stores) store(m.at(buffer(p, k.outputs[size_t(s.output)])), vals[size_t(s.expr)]);
}

} // namespace

std::vector<std::pair<std::string, Tensor>> run_program(const Program& p, ir::Bindings& bindings,
                                                        const ir::EvalContext& ctx) {
  if (!p.planned) throw Error("program evaluator: the program has not been planned");
  Memory m;
  fill(p, m, bindings);
  for (const Kernel& k : p.kernels) run_kernel(p, k, m, ctx);
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& o : p.graph.outputs())
    out.emplace_back(o.name, load(m.at(buffer(p, o.value)), p.graph.type(o.value)));
  for (auto& u : p.graph.updates())
    bindings[p.graph.value(u.target).name] = load(m.at(buffer(p, u.target)), p.graph.type(u.target));
  return out;
}

} // namespace dlc::passes
