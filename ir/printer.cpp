#include "ir/printer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlc::ir {

static std::string ref(const Graph& g, ValueId v) { return "%" + g.value(v).name; }

namespace {

// Every line of `text` indented by two more spaces.
std::string indent(const std::string& text) {
  std::string out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size() - 1;
    out += "  " + text.substr(begin, end - begin + 1);
    begin = end + 1;
  }
  return out;
}

} // namespace

std::string print_graph(const Graph& g) {
  std::string out = fmt::format("graph {} {{\n", g.name);
  for (ValueId v : g.inputs()) out += fmt::format("  input {}: {}\n", ref(g, v), g.type(v).str());
  for (ValueId v : g.params()) {
    const Value& p = g.value(v);
    std::string reg;
    if (p.l1 > 0) reg += fmt::format(" l1({:g})", p.l1);
    if (p.l2 > 0) reg += fmt::format(" l2({:g})", p.l2);
    if (p.max_norm > 0) reg += fmt::format(" max_norm({:g}, axes=[{}])", p.max_norm, fmt::join(p.max_norm_axes, ","));
    if (p.non_neg) reg += " non_neg";
    out += fmt::format("  param {}: {} = {}{}{}\n", ref(g, v), p.type.str(), p.init.str(),
                       p.trainable ? "" : " frozen", reg);
  }
  for (ValueId v : g.states())
    out += fmt::format("  state {}: {} = {}\n", ref(g, v), g.type(v).str(), g.value(v).init.str());
  for (ValueId v : g.constants()) {
    const Value& c = g.value(v);
    std::string data;
    if (c.data.size() <= 8) data = fmt::format(" = [{}]", fmt::join(c.data, ", "));
    out += fmt::format("  const {}: {}{}\n", ref(g, v), c.type.str(), data);
  }
  for (const Node& n : g.nodes()) {
    std::vector<std::string> res, ops, types;
    for (ValueId r : n.results) {
      res.push_back(ref(g, r));
      types.push_back(g.type(r).str());
    }
    for (ValueId o : n.operands) ops.push_back(ref(g, o));
    std::string attrs = n.attrs.str();
    out += fmt::format("  {} = {}({}){} : {}\n", fmt::join(res, ", "), n.op->name,
                       fmt::join(ops, ", "), attrs.empty() ? "" : " " + attrs,
                       fmt::join(types, ", "));
    if (n.body) out += indent(print_graph(*n.body)); // once, however many steps it runs
  }
  for (auto& u : g.updates()) out += fmt::format("  update {} <- {}\n", ref(g, u.target), ref(g, u.value));
  for (auto& o : g.outputs())
    out += fmt::format("  output {} = {}{}\n", o.name, ref(g, o.value),
                       o.mask == kNoValue ? "" : " mask " + ref(g, o.mask));
  out += "}\n";
  return out;
}

} // namespace dlc::ir
