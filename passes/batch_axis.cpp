// The batch analysis: which values carry the run-time batch on axis 0.
//
// Forward dataflow from the graph inputs, one rule per op (ir::OpDef::batch). A value is
// batched when its axis 0 holds the samples, so that a run of n samples computes exactly
// its first n rows; sizes derived from it (GEMM rows, loop trip counts, the divisor of a
// batch mean) scale with n.
#include "passes/lower_detail.h"

#include "ir/error.h"

#include <algorithm>

namespace dlc::passes::lower_detail {

namespace {

using ir::ValueId;

// Whether the results of node `n` are batched, given its operands': its op's batch rule
// (ir::OpDef::batch), asked only when some operand is batched.
bool result_batched(const ir::Graph& g, const ir::Node& n, const std::vector<bool>& b, int64_t batch) {
  std::vector<bool> in;
  std::vector<ir::TensorType> in_types, out_types;
  for (ValueId o : n.operands) {
    in.push_back(b[size_t(o)]);
    in_types.push_back(g.type(o));
  }
  if (std::find(in.begin(), in.end(), true) == in.end()) return false;
  for (ValueId r : n.results) out_types.push_back(g.type(r));
  ir::BatchContext c{n.op->name, n.name, in_types, in, out_types, n.attrs, batch};
  if (!n.op->batch) c.fail("no batch rule for this op");
  return n.op->batch(c);
}

} // namespace

std::vector<bool> batched_values(const ir::Graph& g, int64_t batch) {
  std::vector<bool> b(g.values().size(), false);
  for (ValueId v : g.inputs()) {
    const ir::Shape& s = g.type(v).shape;
    b[size_t(v)] = s.rank() >= 1 && s[0] == batch;
  }
  for (const ir::Node& n : g.nodes()) {
    bool r = result_batched(g, n, b, batch);
    for (ValueId v : n.results) b[size_t(v)] = r;
  }
  return b;
}

Extent Dims::prod(int from, int to) const {
  int64_t p = 1;
  for (int d = from; d < to; d++) p *= shape[d];
  if (batched && from == 0 && to > 0) return {p / batch, true};
  return Extent::fixed(p);
}

} // namespace dlc::passes::lower_detail
