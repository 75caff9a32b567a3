// Common-subexpression elimination over the SSA graph. Every op is pure (dropout draws
// its mask from (seed, step, stream, element), so two dropouts with the same stream and
// input are equal too), so a node equal to an earlier one — same op, same operands after
// earlier replacements, same attributes — is replaced by it. Constants with the same type
// and data are merged first.
#include "passes/cleanup/cleanup.h"
#include "passes/rewrite.h"

#include <map>

namespace dlc::passes {

using ir::ValueId;

namespace {

void merge_constants(const ir::Graph& g, GraphRewriter& rw) {
  std::map<std::pair<std::string, size_t>, std::vector<ValueId>> seen;
  for (ValueId c : g.constants()) {
    const ir::Value& v = g.value(c);
    size_t h = std::hash<std::string_view>()(std::string_view(
        reinterpret_cast<const char*>(v.data.data()), v.data.size() * sizeof(float)));
    auto& same = seen[{v.type.str(), h}];
    bool merged = false;
    for (ValueId earlier : same)
      if (g.value(earlier).data == v.data && g.type(earlier) == v.type) {
        rw.replace(c, rw.map(earlier));
        merged = true;
        break;
      }
    if (!merged) same.push_back(c);
  }
}

} // namespace

ir::Graph eliminate_common_subexpressions(const ir::Graph& g) {
  GraphRewriter rw(g);
  merge_constants(g, rw);
  // (op, mapped operands) -> source nodes already copied with that key.
  std::map<std::pair<std::string, std::vector<ValueId>>, std::vector<int>> seen;
  for (int i = 0; i < int(g.nodes().size()); i++) {
    const ir::Node& n = g.node(i);
    auto& same = seen[{n.op->name, rw.mapped_operands(i)}];
    int match = -1;
    for (int j : same)
      if (g.node(j).attrs == n.attrs && g.node(j).body == n.body) match = j; // loops: the same body
    if (match < 0) {
      rw.copy_node(i);
      same.push_back(i);
      continue;
    }
    for (size_t r = 0; r < n.results.size(); r++)
      rw.replace(n.results[r], rw.map(g.node(match).results[r]));
  }
  return rw.finish();
}

} // namespace dlc::passes
