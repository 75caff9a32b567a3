// Dead-code elimination: a node lives when an output (or its mask), an update or a live node reads one
// of its results. Walks the nodes backwards once (they are in topological order).
#include "passes/cleanup/cleanup.h"
#include "passes/rewrite.h"

namespace dlc::passes {

ir::Graph eliminate_dead_code(const ir::Graph& g) {
  std::vector<bool> live(g.values().size(), false);
  for (auto& o : g.outputs()) {
    live[size_t(o.value)] = true;
    if (o.mask != ir::kNoValue) live[size_t(o.mask)] = true;
  }
  for (auto& u : g.updates()) live[size_t(u.value)] = true;
  std::vector<bool> keep(g.nodes().size(), false);
  for (int i = int(g.nodes().size()) - 1; i >= 0; i--) {
    const ir::Node& n = g.node(i);
    for (ir::ValueId r : n.results) keep[size_t(i)] = keep[size_t(i)] || live[size_t(r)];
    if (!keep[size_t(i)]) continue;
    for (ir::ValueId o : n.operands) live[size_t(o)] = true;
  }
  GraphRewriter rw(g);
  for (int i = 0; i < int(g.nodes().size()); i++)
    if (keep[size_t(i)]) rw.copy_node(i);
  return rw.finish();
}

} // namespace dlc::passes
