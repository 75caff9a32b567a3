#include "passes/program.h"

#include <algorithm>
#include <set>

namespace dlc::passes {

using ir::ValueId;

const char* region_name(Region r) {
  switch (r) {
  case Region::constants: return "constants";
  case Region::state: return "state";
  case Region::arena: return "arena";
  }
  return "?";
}

Program::Place Program::place(const Ref& r) const {
  const Buffer& b = buffers.at(size_t(r.buffer));
  return {b.region, b.offset + r.offset};
}

const NamedValue* Program::find(const std::string& name, bool output) const {
  for (const NamedValue& v : interface)
    if (v.name == name && v.output == output) return &v;
  return nullptr;
}

bool is_view_op(const std::string& op) {
  const ir::OpDef* def = ir::find_op(op);
  return def && def->view;
}

ValueId base_value(const ir::Graph& g, ValueId v) {
  for (;;) {
    const ir::Value& x = g.value(v);
    if (x.kind != ir::ValueKind::result) return v;
    const ir::Node& n = g.node(x.node);
    if (!is_view_op(n.op->name)) return v;
    v = n.operands[0];
  }
}

int Program::kernel_index(int id) const {
  for (size_t i = 0; i < kernels.size(); i++)
    if (kernels[i].id == id) return int(i);
  return -1;
}

std::vector<std::vector<int>> kernel_dependencies(const Program& p) {
  const ir::Graph& g = p.graph;
  // value (base) -> position of the kernel writing it
  std::vector<int> writer(g.values().size(), -1);
  for (size_t i = 0; i < p.kernels.size(); i++)
    for (ValueId o : p.kernels[i].outputs)
      if (g.value(o).kind == ir::ValueKind::result) writer[size_t(o)] = int(i);
  std::vector<std::set<int>> deps(p.kernels.size());
  for (size_t i = 0; i < p.kernels.size(); i++)
    for (ValueId in : p.kernels[i].inputs) {
      int w = writer[size_t(base_value(g, in))];
      if (w >= 0 && w != int(i)) deps[i].insert(w);
    }
  for (const UpdateWrite& u : p.update_writes) {
    int w = p.kernel_index(u.kernel);
    for (size_t i = 0; i < p.kernels.size(); i++) {
      if (int(i) == w) continue;
      for (ValueId in : p.kernels[i].inputs)
        if (base_value(g, in) == u.target) deps[size_t(w)].insert(int(i));
    }
  }
  std::vector<std::vector<int>> out;
  for (auto& d : deps) out.emplace_back(d.begin(), d.end());
  return out;
}

} // namespace dlc::passes
