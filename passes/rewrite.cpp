#include "passes/rewrite.h"

namespace dlc::passes {

using ir::ValueId;

GraphRewriter::GraphRewriter(const ir::Graph& src) : src_(src), map_(src.values().size(), ir::kNoValue) {
  dst_.name = src.name;
  dst_.batch = src.batch;
  for (ValueId v : src.inputs()) map_[size_t(v)] = dst_.add_input(src.value(v).name, src.type(v));
  for (ValueId v : src.params()) map_[size_t(v)] = dst_.copy_param(src.value(v));
  for (ValueId v : src.states()) {
    const ir::Value& s = src.value(v);
    map_[size_t(v)] = dst_.add_state(s.name, s.type, s.init);
  }
}

ValueId GraphRewriter::map(ValueId old) {
  ValueId& m = map_[size_t(old)];
  if (m == ir::kNoValue && src_.value(old).kind == ir::ValueKind::constant) {
    const ir::Value& c = src_.value(old);
    m = dst_.add_constant(c.name, c.type, c.data);
  }
  if (m == ir::kNoValue)
    throw Error(fmt::format("rewrite of graph '{}': %{} is used before it is defined", src_.name,
                            src_.value(old).name));
  return m;
}

std::vector<ValueId> GraphRewriter::mapped_operands(int i) {
  std::vector<ValueId> ops;
  for (ValueId o : src_.node(i).operands) ops.push_back(map(o));
  return ops;
}

std::vector<ValueId> GraphRewriter::add_named(const std::string& op, std::vector<ValueId> operands,
                                              const ir::Attrs& attrs, const std::string& node_name,
                                              const std::vector<ValueId>& names,
                                              std::shared_ptr<const ir::Graph> body) {
  auto res = dst_.add_node(op, std::move(operands), attrs, node_name, std::move(body));
  for (size_t r = 0; r < res.size() && r < names.size(); r++)
    dst_.rename(res[r], src_.value(names[r]).name);
  return res;
}

void GraphRewriter::copy_node(int i) {
  const ir::Node& n = src_.node(i);
  auto res = add_named(n.op->name, mapped_operands(i), n.attrs, n.name, n.results, n.body);
  for (size_t r = 0; r < res.size(); r++) map_[size_t(n.results[r])] = res[r];
}

ir::Graph GraphRewriter::finish(bool map_outputs_and_updates) {
  if (!map_outputs_and_updates) return std::move(dst_);
  for (auto& o : src_.outputs()) dst_.add_output(o.name, map(o.value), o.mask == ir::kNoValue ? o.mask : map(o.mask));
  for (auto& u : src_.updates()) dst_.add_update(map(u.target), map(u.value));
  return std::move(dst_);
}

std::vector<int> use_counts(const ir::Graph& g) {
  std::vector<int> uses(g.values().size(), 0);
  for (const ir::Node& n : g.nodes())
    for (ValueId o : n.operands) uses[size_t(o)]++;
  for (auto& o : g.outputs()) uses[size_t(o.value)]++;
  for (auto& u : g.updates()) uses[size_t(u.value)]++;
  return uses;
}

std::unordered_map<ValueId, ValueId> copy_nodes(ir::Graph& dst, const ir::Graph& src, const std::vector<ValueId>& inputs,
                                                bool keep_names) {
  std::unordered_map<ValueId, ValueId> map;
  for (size_t i = 0; i < inputs.size(); i++) map[src.inputs()[i]] = inputs[i];
  for (ValueId c : src.constants()) {
    const ir::Value& v = src.value(c);
    map[c] = dst.add_constant(v.name, v.type, v.data);
  }
  for (const ir::Node& n : src.nodes()) {
    std::vector<ValueId> operands;
    for (ValueId o : n.operands) operands.push_back(map.at(o));
    auto r = dst.add_node(n.op->name, operands, n.attrs, n.name, n.body);
    for (size_t i = 0; i < r.size(); i++) {
      if (keep_names) dst.rename(r[i], src.value(n.results[i]).name);
      map[n.results[i]] = r[i];
    }
  }
  return map;
}

} // namespace dlc::passes
