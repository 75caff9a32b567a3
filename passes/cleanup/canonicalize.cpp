// Canonicalisation: rewrites each node, before it is added to the new graph, with small
// local rules until none applies. A rule either finds a value to use instead of the node
// (an identity) or rewrites the node into a simpler one. Every rule is exact: the graph
// computes the same bits afterwards. Nodes left without users are removed by dce.
#include "passes/cleanup/cleanup.h"
#include "passes/rewrite.h"

#include <cmath>
#include <optional>

namespace dlc::passes {

using ir::ValueId;

namespace {

struct Candidate {
  std::string op;
  std::vector<ValueId> operands;
  ir::Attrs attrs;
};

// The single value of a one-element constant.
std::optional<double> scalar_constant(const ir::Graph& g, ValueId v) {
  const ir::Value& c = g.value(v);
  if (c.kind != ir::ValueKind::constant || c.data.size() != 1) return std::nullopt;
  return double(c.data[0]);
}

const ir::Node* producer(const ir::Graph& g, ValueId v) {
  const ir::Value& x = g.value(v);
  return x.kind == ir::ValueKind::result ? &g.node(x.node) : nullptr;
}

// ±2^k: multiplying by it (or by its reciprocal) is exact.
bool power_of_two(double v) {
  int e = 0;
  return v != 0 && std::isfinite(v) && std::fabs(std::frexp(v, &e)) == 0.5;
}

// Returns the value that makes the node an identity, or kNoValue.
ValueId identity_of(const ir::Graph& g, const Candidate& c, const ir::TensorType& result) {
  ValueId x = c.operands[0];
  if (g.type(x) != result) return ir::kNoValue;
  const std::string& op = c.op;
  if (ir::get_op(op).view || op == "broadcast_to" || op == "reduce_to_shape") return x;
  if (op == "scale" && c.attrs.get_float("scale") == 1 && c.attrs.get_float("offset", 0) == 0) return x;
  if (op == "transpose") {
    auto& perm = c.attrs.get_ints("perm");
    for (size_t i = 0; i < perm.size(); i++)
      if (perm[i] != int64_t(i)) return ir::kNoValue;
    return x;
  }
  if (c.operands.size() != 2) return ir::kNoValue;
  auto k = scalar_constant(g, c.operands[1]);
  if (!k) return ir::kNoValue;
  if ((op == "add" || op == "sub") && *k == 0) return x;
  if ((op == "mul" || op == "div") && *k == 1) return x;
  return ir::kNoValue;
}

ir::Attrs scale_attrs(double scale, double offset) {
  ir::Attrs a{{"scale", scale}};
  if (offset != 0) a.set("offset", offset);
  return a;
}

// Arithmetic with a scalar constant becomes scale(x) {scale, offset}.
bool to_scale(const ir::Graph& g, Candidate& c, const ir::TensorType& result) {
  if (c.operands.size() != 2 || !ir::is_float(result.dtype)) return false;
  ValueId x = c.operands[0], y = c.operands[1];
  auto ky = scalar_constant(g, y), kx = scalar_constant(g, x);
  std::optional<ir::Attrs> a;
  if (ky && g.type(x) == result) {
    if (c.op == "mul") a = scale_attrs(*ky, 0);
    if (c.op == "add") a = scale_attrs(1, *ky);
    if (c.op == "sub") a = scale_attrs(1, -*ky);
    if (c.op == "div" && power_of_two(*ky)) a = scale_attrs(1 / *ky, 0);
  } else if (kx && c.op == "sub" && g.type(y) == result) {
    a = scale_attrs(-1, *kx);
    x = y;
  }
  if (!a) return false;
  c = {"scale", {x}, *a};
  return true;
}

// scale(scale(x, a, b), c, d) = scale(x, a*c, b*c + d); neg is scale -1. Composed only
// when that is exact (one of the two is a multiplication by a power of two without an
// offset), so the result is bit for bit what the two ops compute.
bool compose_scales(const ir::Graph& g, Candidate& c) {
  if (c.op != "scale" && c.op != "neg") return false;
  const ir::Node* p = producer(g, c.operands[0]);
  if (!p || (p->op->name != "scale" && p->op->name != "neg")) return false;
  auto coeffs = [](const std::string& op, const ir::Attrs& at) {
    return op == "neg" ? std::pair{-1.0, 0.0} : std::pair{at.get_float("scale"), at.get_float("offset", 0)};
  };
  auto [a, b] = coeffs(p->op->name, p->attrs);
  auto [s, d] = coeffs(c.op, c.attrs);
  if (!(b == 0 && power_of_two(a)) && !(d == 0 && power_of_two(s))) return false;
  c = {"scale", {p->operands[0]}, scale_attrs(a * s, b * s + d)};
  return true;
}

// A view of a view is one view: reshape(reshape(x)) = reshape(x).
bool collapse_views(const ir::Graph& g, Candidate& c, const ir::TensorType& result) {
  if (!ir::get_op(c.op).view) return false;
  const ir::Node* p = producer(g, c.operands[0]);
  if (!p || !p->op->view) return false;
  c = {"reshape", {p->operands[0]}, ir::Attrs{{"shape", result.shape.dims}}};
  return true;
}

// Commutative ops take a constant as their second operand.
bool constant_second(const ir::Graph& g, Candidate& c) {
  static const char* commutative[] = {"add", "mul", "maximum", "minimum"};
  bool comm = false;
  for (const char* op : commutative) comm |= c.op == op;
  if (!comm) return false;
  bool c0 = g.value(c.operands[0]).kind == ir::ValueKind::constant;
  bool c1 = g.value(c.operands[1]).kind == ir::ValueKind::constant;
  if (!c0 || c1) return false;
  std::swap(c.operands[0], c.operands[1]);
  return true;
}

// Applies rules until none does; returns a replacement value or kNoValue (then `c` is
// the node to add).
ValueId simplify(const ir::Graph& g, Candidate& c, const ir::TensorType& result) {
  for (int round = 0; round < 16; round++) {
    ValueId same = identity_of(g, c, result);
    if (same != ir::kNoValue) return same;
    if (!constant_second(g, c) && !to_scale(g, c, result) && !compose_scales(g, c) &&
        !collapse_views(g, c, result))
      return ir::kNoValue;
  }
  return ir::kNoValue;
}

} // namespace

ir::Graph canonicalize(const ir::Graph& g) {
  GraphRewriter rw(g);
  for (int i = 0; i < int(g.nodes().size()); i++) {
    const ir::Node& n = g.node(i);
    if (n.results.size() != 1) {
      rw.copy_node(i);
      continue;
    }
    Candidate c{n.op->name, rw.mapped_operands(i), n.attrs};
    ValueId same = simplify(rw.dst(), c, g.type(n.results[0]));
    if (same == ir::kNoValue)
      same = rw.add_named(c.op, c.operands, c.attrs, n.name, n.results, n.body)[0];
    rw.replace(n.results[0], same);
  }
  return rw.finish();
}

} // namespace dlc::passes
