// Copying a graph node by node. ir::Graph is append-only, so a pass that removes or
// replaces nodes rebuilds it: interface values (inputs, params, state) are copied in
// order, constants when first used (unused ones vanish), nodes as the pass decides, and
// outputs and updates through the value map. Every copied value keeps its name.
#pragma once

#include "ir/graph.h"

#include <unordered_map>
#include <vector>

namespace dlc::passes {

class GraphRewriter {
public:
  explicit GraphRewriter(const ir::Graph& src);

  const ir::Graph& src() const { return src_; }
  ir::Graph& dst() { return dst_; }

  // The value in the new graph standing for `old` (copying a constant on first use).
  ir::ValueId map(ir::ValueId old);
  // From now on, uses of `old` read `now` (a value of the new graph).
  void replace(ir::ValueId old, ir::ValueId now) { map_[size_t(old)] = now; }
  // The operands of source node `i`, mapped.
  std::vector<ir::ValueId> mapped_operands(int i);
  // Re-adds source node `i` over mapped operands (a loop with its body); its results keep
  // their names.
  void copy_node(int i);
  // Adds a node to the new graph; results are named after source values `names` (same
  // count). `body`: a loop's body graph.
  std::vector<ir::ValueId> add_named(const std::string& op, std::vector<ir::ValueId> operands,
                                     const ir::Attrs& attrs, const std::string& node_name,
                                     const std::vector<ir::ValueId>& names,
                                     std::shared_ptr<const ir::Graph> body = nullptr);
  // Maps outputs and updates (unless told not to: the caller adds them) and returns the
  // new graph.
  ir::Graph finish(bool map_outputs_and_updates = true);

private:
  const ir::Graph& src_;
  ir::Graph dst_;
  std::vector<ir::ValueId> map_;
};

// Copies src's constants and nodes (loops with their bodies) into dst, src's inputs read
// as `inputs` (one dst value each, in order); returns dst's value for every src value
// copied or mapped. With `keep_names` the results take their src names (made unique).
// Loop bodies become graphs of their own this way (autodiff's backward step, lowering).
std::unordered_map<ir::ValueId, ir::ValueId> copy_nodes(ir::Graph& dst, const ir::Graph& src,
                                                        const std::vector<ir::ValueId>& inputs, bool keep_names);

// Values used by any node, output or update of `g`: counts per value id.
std::vector<int> use_counts(const ir::Graph& g);

} // namespace dlc::passes
