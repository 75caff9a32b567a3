#include "ir/op.h"

#include <map>
#include <memory>
#include <mutex>

namespace dlc::ir {

void register_all_op_families(); // ir/ops/registry.cpp

namespace {
std::map<std::string, OpDef>& table() {
  static std::map<std::string, OpDef> t;
  return t;
}
void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] { register_all_op_families(); });
}
} // namespace

OpDef& register_op(OpDef def) {
  std::string n = def.name;
  auto [it, inserted] = table().emplace(std::move(n), std::move(def));
  if (!inserted) throw Error(fmt::format("op '{}' is registered twice", it->first));
  return it->second;
}

OpDef& registered_op(const std::string& name) {
  auto it = table().find(name);
  if (it == table().end()) throw Error(fmt::format("op '{}' is not registered yet", name));
  return it->second;
}

const OpDef* find_op(const std::string& name) {
  ensure_registered();
  auto it = table().find(name);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> op_names() {
  ensure_registered();
  std::vector<std::string> names;
  for (auto& [k, v] : table()) names.push_back(k);
  return names;
}

const OpDef& get_op(const std::string& name) {
  if (const OpDef* d = find_op(name)) return *d;
  throw Error(fmt::format("unknown op '{}'{}", name, did_you_mean(name, op_names())));
}

void InferContext::expect_float(int i) const {
  if (!is_float(in[size_t(i)].dtype))
    fail("operand {} must be a float tensor, got {}", i, in[size_t(i)].str());
}
void InferContext::expect_rank(int i, int rank) const {
  if (in[size_t(i)].shape.rank() != rank)
    fail("operand {} must have rank {}, got {}", i, rank, in[size_t(i)].str());
}
void InferContext::expect_min_rank(int i, int rank) const {
  if (in[size_t(i)].shape.rank() < rank)
    fail("operand {} must have rank at least {}, got {}", i, rank, in[size_t(i)].str());
}

std::vector<TensorType> infer_types(const OpDef& op, const std::string& node,
                                    const std::vector<TensorType>& in, const Attrs& attrs,
                                    const Graph* body) {
  InferContext ctx{op.name, node, in, attrs, body};
  if (op.has_body != (body != nullptr))
    ctx.fail("{}", op.has_body ? "has no body graph" : "an op without a body was given one");
  int n = int(in.size());
  if (n < op.min_operands || (op.max_operands >= 0 && n > op.max_operands)) {
    const char* plural = op.min_operands == 1 ? "" : "s";
    if (op.min_operands == op.max_operands)
      ctx.fail("expects {} operand{}, got {}", op.min_operands, plural, n);
    if (op.max_operands < 0) ctx.fail("expects at least {} operand{}, got {}", op.min_operands, plural, n);
    ctx.fail("expects {} to {} operands, got {}", op.min_operands, op.max_operands, n);
  }
  for (auto& spec : op.attrs) {
    if (!attrs.has(spec.name)) {
      if (spec.required) ctx.fail("missing attribute '{}'", spec.name);
      continue;
    }
    AttrKind k = attr_kind_of(attrs.all().at(spec.name));
    bool ok = k == spec.kind || (spec.kind == AttrKind::Float && k == AttrKind::Int);
    if (!ok)
      ctx.fail("attribute '{}' should be {}, is {}", spec.name, attr_kind_name(spec.kind),
               attr_kind_name(k));
  }
  for (auto& [name, v] : attrs.all()) {
    bool known = false;
    for (auto& spec : op.attrs) known |= spec.name == name;
    if (!known) ctx.fail("unknown attribute '{}'", name);
  }
  return op.infer(ctx);
}

double scalar_attr_value(const Attrs& attrs, const ScalarAttr& a) {
  if (!attrs.has(a.name)) return a.dflt;
  const Attr& v = attrs.all().at(a.name);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return attrs.get_float(a.name);
}

OpExample OpDef::example_or_default() const {
  if (example) return *example;
  if (!is_body()) throw Error(fmt::format("op '{}' has no example in the op table", name));
  OpExample e;
  for (int i = 0; i < min_operands; i++) e.operands.push_back({TensorType{DType::f32, Shape{3, 4}}});
  return e;
}

void BatchContext::fail(const std::string& why) const {
  throw Error(fmt::format("node '{}' ({}): cannot follow the batch axis: {}", node, op, why));
}

int BatchContext::axis(const char* name, int rank, int64_t dflt) const {
  int64_t a = attrs.get_int(name, dflt);
  return int(a < 0 ? a + rank : a);
}

BatchRule batch_elementwise() {
  return [](const BatchContext& c) {
    // Broadcasting aligns trailing axes: a batched operand must have the result's rank.
    for (size_t i = 0; i < c.in.size(); i++)
      if (c.batched[i] && c.in[i].shape.rank() != c.out[0].shape.rank())
        c.fail("a batched operand broadcasts to a higher rank");
    return true;
  };
}

BatchRule batch_sample_wise() {
  return [](const BatchContext& c) {
    if (!c.batched[0]) c.fail("its first operand has no batch axis");
    return true;
  };
}

BatchRule batch_ends() {
  return [](const BatchContext&) { return false; };
}

BatchRule batch_along(const char* axis_attr, int64_t dflt) {
  return [axis_attr, dflt](const BatchContext& c) {
    if (c.axis(axis_attr, c.in[0].shape.rank(), dflt) == 0) c.fail("it works along the batch axis");
    return true;
  };
}

bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
  int r = std::max(a.rank(), b.rank());
  std::vector<int64_t> d(size_t(r), 1);
  for (int i = 0; i < r; i++) {
    int64_t x = i < r - a.rank() ? 1 : a[i - (r - a.rank())];
    int64_t y = i < r - b.rank() ? 1 : b[i - (r - b.rank())];
    if (x != y && x != 1 && y != 1) return false;
    d[size_t(i)] = std::max(x, y);
  }
  out = Shape(std::move(d));
  return true;
}

} // namespace dlc::ir
