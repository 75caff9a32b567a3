#include "frontend/summary.h"

namespace dlc::frontend {

ModelSummary summarize(const BuiltModel& m) {
  ModelSummary s;
  s.name = m.graph.name;
  for (ir::ValueId in : m.graph.inputs()) {
    s.batch = m.graph.type(in).shape[0];
    s.input_bytes += m.graph.type(in).bytes();
  }
  for (auto& l : m.layers) {
    LayerRow r{l.name, l.type, l.activation, m.graph.type(l.output).shape, 0,
               m.graph.type(l.output).bytes()};
    for (ir::ValueId p : l.params) r.params += m.graph.type(p).shape.numel();
    s.activation_bytes += r.activation_bytes;
    s.rows.push_back(std::move(r));
  }
  s.total_params = m.graph.param_count(false);
  s.trainable_params = m.graph.param_count(true);
  for (ir::ValueId p : m.graph.params()) s.param_bytes += m.graph.type(p).bytes();
  return s;
}

} // namespace dlc::frontend
