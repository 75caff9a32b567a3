#include "ir/graph.h"

#include <algorithm>

#include <fmt/format.h>

namespace dlc::ir {

const char* value_kind_name(ValueKind k) {
  switch (k) {
  case ValueKind::input: return "input";
  case ValueKind::param: return "param";
  case ValueKind::constant: return "const";
  case ValueKind::state: return "state";
  case ValueKind::result: return "result";
  }
  return "?";
}

std::string Initializer::str() const {
  if (kind == "constant" || has_value) return fmt::format("{}({:g})", kind, value);
  return kind;
}

std::string Graph::unique_name(const std::string& base) const {
  std::string b = base.empty() ? "v" : base;
  if (!by_name_.count(b)) return b;
  for (int i = 1;; i++) {
    std::string n = fmt::format("{}.{}", b, i);
    if (!by_name_.count(n)) return n;
  }
}

ValueId Graph::new_value(const std::string& name, TensorType type, ValueKind kind) {
  Value v;
  v.id = ValueId(values_.size());
  v.name = unique_name(name);
  v.type = std::move(type);
  v.kind = kind;
  by_name_[v.name] = v.id;
  values_.push_back(std::move(v));
  return values_.back().id;
}

ValueId Graph::add_input(const std::string& name, TensorType type) {
  ValueId id = new_value(name, std::move(type), ValueKind::input);
  inputs_.push_back(id);
  return id;
}

ValueId Graph::add_param(const std::string& name, TensorType type, Initializer init,
                         bool trainable) {
  ValueId id = new_value(name, std::move(type), ValueKind::param);
  values_[size_t(id)].init = std::move(init);
  values_[size_t(id)].trainable = trainable;
  params_.push_back(id);
  return id;
}

ValueId Graph::copy_param(const Value& p) {
  ValueId id = add_param(p.name, p.type, p.init, p.trainable);
  Value& v = values_[size_t(id)];
  v.l1 = p.l1;
  v.l2 = p.l2;
  v.max_norm = p.max_norm;
  v.max_norm_axes = p.max_norm_axes;
  v.non_neg = p.non_neg;
  return id;
}

ValueId Graph::add_state(const std::string& name, TensorType type, Initializer init) {
  ValueId id = new_value(name, std::move(type), ValueKind::state);
  values_[size_t(id)].init = std::move(init);
  states_.push_back(id);
  return id;
}

ValueId Graph::add_constant(const std::string& name, TensorType type, std::vector<float> data) {
  if (int64_t(data.size()) != type.shape.numel())
    throw Error(fmt::format("constant '{}': {} values for type {}", name, data.size(), type.str()));
  ValueId id = new_value(name, std::move(type), ValueKind::constant);
  values_[size_t(id)].data = std::move(data);
  constants_.push_back(id);
  return id;
}

std::vector<ValueId> Graph::add_node(const std::string& op, std::vector<ValueId> operands,
                                     Attrs attrs, const std::string& node_name,
                                     std::shared_ptr<const Graph> body) {
  const OpDef& def = get_op(op);
  std::vector<TensorType> in;
  for (ValueId v : operands) {
    if (v < 0 || size_t(v) >= values_.size())
      throw Error(fmt::format("node '{}' ({}): operand %{} is not defined", node_name, op, v));
    in.push_back(values_[size_t(v)].type);
  }
  std::string nname = node_name.empty() ? op : node_name;
  std::vector<TensorType> out = infer_types(def, nname, in, attrs, body.get());
  Node n;
  n.op = &def;
  n.body = std::move(body);
  n.name = nname;
  n.operands = std::move(operands);
  n.attrs = std::move(attrs);
  int node_index = int(nodes_.size());
  for (size_t i = 0; i < out.size(); i++) {
    ValueId r = new_value(out.size() == 1 ? nname : fmt::format("{}#{}", nname, i), out[i],
                          ValueKind::result);
    values_[size_t(r)].node = node_index;
    values_[size_t(r)].result_index = int(i);
    n.results.push_back(r);
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().results;
}

ValueId Graph::add(const std::string& op, std::vector<ValueId> operands, Attrs attrs,
                   const std::string& node_name) {
  auto r = add_node(op, std::move(operands), std::move(attrs), node_name);
  if (r.size() != 1) throw Error(fmt::format("op {} has {} results, not one", op, r.size()));
  return r[0];
}

std::vector<ValueId> Graph::extend_loop(int node, std::shared_ptr<const Graph> body) {
  Node& n = nodes_[size_t(node)];
  std::vector<TensorType> in;
  for (ValueId v : n.operands) in.push_back(values_[size_t(v)].type);
  std::vector<TensorType> out = infer_types(*n.op, n.name, in, n.attrs, body.get());
  if (out.size() < n.results.size())
    throw Error(fmt::format("node '{}' ({}): a loop's new body drops results", n.name, n.op->name));
  for (size_t i = 0; i < n.results.size(); i++)
    if (out[i] != values_[size_t(n.results[i])].type)
      throw Error(fmt::format("node '{}' ({}): a loop's new body changes result {}", n.name, n.op->name, i));
  std::vector<ValueId> added;
  for (size_t i = n.results.size(); i < out.size(); i++) {
    ValueId r = new_value(fmt::format("{}#{}", n.name, i), out[i], ValueKind::result);
    values_[size_t(r)].node = node;
    values_[size_t(r)].result_index = int(i);
    n.results.push_back(r);
    added.push_back(r);
  }
  n.body = std::move(body);
  return added;
}

void Graph::add_output(const std::string& name, ValueId v, ValueId mask) { outputs_.push_back({name, v, mask}); }

void Graph::add_update(ValueId target, ValueId value) { updates_.push_back({target, value}); }

ValueId Graph::find(const std::string& value_name) const {
  auto it = by_name_.find(value_name);
  return it == by_name_.end() ? kNoValue : it->second;
}

int64_t Graph::param_count(bool trainable_only) const {
  int64_t n = 0;
  for (ValueId p : params_)
    if (!trainable_only || values_[size_t(p)].trainable) n += values_[size_t(p)].type.shape.numel();
  return n;
}

void Graph::rename(ValueId id, const std::string& name) {
  Value& v = values_[size_t(id)];
  if (v.name == name) return;
  by_name_.erase(v.name);
  v.name = unique_name(name);
  by_name_[v.name] = id;
}

} // namespace dlc::ir

namespace dlc::ir {

std::vector<bool> batched_values(const Graph& g, const std::vector<bool>& inputs_batched, int64_t batch) {
  std::vector<bool> b(g.values().size(), false);
  for (size_t i = 0; i < g.inputs().size() && i < inputs_batched.size(); i++)
    b[size_t(g.inputs()[i])] = inputs_batched[i];
  for (const Node& n : g.nodes()) {
    std::vector<bool> in;
    std::vector<TensorType> in_types, out_types;
    for (ValueId o : n.operands) {
      in.push_back(b[size_t(o)]);
      in_types.push_back(g.type(o));
    }
    if (std::find(in.begin(), in.end(), true) == in.end()) continue;
    for (ValueId r : n.results) out_types.push_back(g.type(r));
    BatchContext c{n.op->name, n.name, in_types, in, out_types, n.attrs, batch, n.body.get()};
    if (!n.op->batch) c.fail("no batch rule for this op");
    bool all = n.op->batch(c);
    for (size_t r = 0; r < n.results.size(); r++)
      b[size_t(n.results[r])] = c.per_result.empty() ? all : bool(c.per_result.at(r));
  }
  return b;
}

std::vector<bool> loop_body_batched(const Graph& body, std::vector<bool> operands, size_t carries, int64_t batch,
                                    const std::string& node) {
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<bool> b = batched_values(body, operands, batch);
    for (size_t i = 0; i < carries; i++) {
      bool out = b[size_t(body.outputs()[i].value)];
      if (out == operands[i]) continue;
      if (!out)
        throw Error(fmt::format("node '{}' (scan): cannot follow the batch axis: carried value {} enters with a batch "
                                "axis and leaves without one", node, i));
      operands[i] = changed = true;
    }
  }
  return operands;
}

} // namespace dlc::ir
