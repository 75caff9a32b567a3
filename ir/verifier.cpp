#include "ir/verifier.h"

#include <fmt/format.h>
#include <set>

namespace dlc::ir {

void verify(const Graph& g) {
  const auto& values = g.values();
  auto valid = [&](ValueId v) { return v >= 0 && size_t(v) < values.size(); };
  std::vector<bool> defined(values.size(), false);
  std::set<std::string> names;
  for (const Value& v : values) {
    if (!names.insert(v.name).second) throw Error(fmt::format("value %{}: name used twice", v.name));
    if (v.kind != ValueKind::result) defined[size_t(v.id)] = true;
    if (v.kind == ValueKind::constant && int64_t(v.data.size()) != v.type.shape.numel())
      throw Error(fmt::format("const %{}: {} values for {}", v.name, v.data.size(), v.type.str()));
  }
  for (size_t i = 0; i < g.nodes().size(); i++) {
    const Node& n = g.nodes()[i];
    auto where = fmt::format("node '{}' ({})", n.name, n.op ? n.op->name : "?");
    if (!n.op) throw Error(where + ": has no op");
    std::vector<TensorType> in;
    for (ValueId o : n.operands) {
      if (!valid(o)) throw Error(fmt::format("{}: operand %{} does not exist", where, o));
      if (!defined[size_t(o)])
        throw Error(fmt::format("{}: operand %{} is used before it is defined", where,
                                values[size_t(o)].name));
      in.push_back(values[size_t(o)].type);
    }
    if (n.body) {
      try {
        verify(*n.body);
      } catch (const Error& e) {
        throw Error(fmt::format("{}: in its body: {}", where, e.what()));
      }
    }
    std::vector<TensorType> expect = infer_types(*n.op, n.name, in, n.attrs, n.body.get());
    if (expect.size() != n.results.size())
      throw Error(fmt::format("{}: has {} results, its op defines {}", where, n.results.size(),
                              expect.size()));
    for (size_t r = 0; r < n.results.size(); r++) {
      ValueId id = n.results[r];
      if (!valid(id)) throw Error(fmt::format("{}: result %{} does not exist", where, id));
      const Value& v = values[size_t(id)];
      if (v.node != int(i) || v.result_index != int(r) || v.kind != ValueKind::result)
        throw Error(fmt::format("{}: result %{} is not linked to it", where, v.name));
      if (defined[size_t(id)]) throw Error(fmt::format("{}: result %{} defined twice", where, v.name));
      if (v.type != expect[r])
        throw Error(fmt::format("{}: result %{} has type {}, the op infers {}", where, v.name,
                                v.type.str(), expect[r].str()));
      defined[size_t(id)] = true;
    }
  }
  for (const Value& v : values)
    if (!defined[size_t(v.id)])
      throw Error(fmt::format("value %{}: no node defines it", v.name));
  for (auto& o : g.outputs()) {
    if (!valid(o.value)) throw Error(fmt::format("output '{}': refers to no value", o.name));
    if (o.mask == kNoValue) continue;
    if (!valid(o.mask)) throw Error(fmt::format("output '{}': its mask refers to no value", o.name));
    const Shape& s = values[size_t(o.value)].type.shape;
    const TensorType& m = values[size_t(o.mask)].type;
    if (m.dtype != DType::f32 || m.shape.rank() != 2 || s.rank() < 2 || m.shape[0] != s[0] || m.shape[1] != s[1])
      throw Error(fmt::format("output '{}' {}: its mask must be f32[{}] (batch, time), is {}", o.name,
                              values[size_t(o.value)].type.str(), s.rank() < 2 ? "batch, time" : fmt::format("{},{}", s[0], s[1]), m.str()));
  }
  for (auto& u : g.updates()) {
    if (!valid(u.target) || !valid(u.value)) throw Error("update refers to no value");
    const Value& t = values[size_t(u.target)];
    if (t.kind != ValueKind::param && t.kind != ValueKind::state)
      throw Error(fmt::format("update of %{}: only params and state can be updated", t.name));
    if (t.type != values[size_t(u.value)].type)
      throw Error(fmt::format("update of %{}: type {} receives {}", t.name, t.type.str(),
                              values[size_t(u.value)].type.str()));
  }
}

} // namespace dlc::ir
