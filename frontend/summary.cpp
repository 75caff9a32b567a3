#include "frontend/summary.h"

namespace dlc::frontend {

ModelSummary summarize(const BuiltModel& m) {
  ModelSummary s;
  s.name = m.graph.name;
  for (ir::ValueId in : m.graph.inputs()) {
    const ir::TensorType& t = m.graph.type(in);
    s.batch = t.shape[0];
    s.input_bytes += t.bytes();
    s.inputs.push_back({m.graph.value(in).name, t});
  }
  std::string previous = s.inputs.empty() ? "" : s.inputs.front().name;
  for (auto& l : m.layers) {
    LayerRow r{l.name, l.type, l.activation, l.inputs, m.graph.type(l.output).shape, 0,
               m.graph.type(l.output).bytes()};
    for (ir::ValueId p : l.params) r.params += m.graph.type(p).shape.numel();
    s.activation_bytes += r.activation_bytes;
    // A layer reading anything but the layer before it means the model branches.
    if (l.inputs.size() != 1 || l.inputs[0] != previous) s.branches = true;
    previous = l.name;
    s.rows.push_back(std::move(r));
  }
  if (s.inputs.size() > 1 || m.graph.outputs().size() > 1) s.branches = true;
  s.total_params = m.graph.param_count(false);
  s.trainable_params = m.graph.param_count(true);
  for (ir::ValueId p : m.graph.params()) s.param_bytes += m.graph.type(p).bytes();
  return s;
}

} // namespace dlc::frontend
