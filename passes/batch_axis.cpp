// The batch analysis: which values carry the run-time batch on axis 0.
//
// Forward dataflow from the graph inputs, one rule per op (ir::OpDef::batch). A value is
// batched when its axis 0 holds the samples, so that a run of n samples computes exactly
// its first n rows; sizes derived from it (GEMM rows, loop trip counts, the divisor of a
// batch mean) scale with n.
#include "passes/lower_detail.h"

#include "ir/error.h"

namespace dlc::passes::lower_detail {

std::vector<bool> batched_values(const ir::Graph& g, int64_t batch) {
  std::vector<bool> in;
  for (ir::ValueId v : g.inputs()) {
    const ir::Shape& s = g.type(v).shape;
    in.push_back(s.rank() >= 1 && s[0] == batch);
  }
  return ir::batched_values(g, in, batch);
}

Extent Dims::prod(int from, int to) const {
  int64_t p = 1;
  for (int d = from; d < to; d++) p *= shape[d];
  if (batched && from == 0 && to > 0) return {p / batch, true};
  return Extent::fixed(p);
}

} // namespace dlc::passes::lower_detail
