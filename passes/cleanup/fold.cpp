// Constant folding with the reference interpreter, so that a folded value is exactly what
// the unfolded graph computes (f32 rounding included). Random ops (dropout, augmentation)
// are never folded: at training time they draw afresh each step.
#include "ir/interp/interpreter.h"
#include "passes/cleanup/cleanup.h"
#include "passes/rewrite.h"

namespace dlc::passes {

using ir::ValueId;

namespace {

// A node is folded when every operand is a constant and its results are no larger than
// its operands together (broadcast_to of a scalar stays a node), or tiny.
bool foldable(const ir::Graph& dst, const ir::Node& n, const std::vector<ValueId>& operands,
              const ir::Graph& src) {
  // Random ops (dropout, augmentation) differ from step to step: never a constant.
  if (n.op->draws_random() || !ir::find_eval(n.op->name)) return false;
  int64_t in = 0, out = 0;
  for (ValueId o : operands) {
    if (dst.value(o).kind != ir::ValueKind::constant) return false;
    in += dst.type(o).shape.numel();
  }
  for (ValueId r : n.results) out += src.type(r).shape.numel();
  return out <= std::max<int64_t>(in, 64);
}

} // namespace

ir::Graph fold_constants(const ir::Graph& g) {
  GraphRewriter rw(g);
  for (int i = 0; i < int(g.nodes().size()); i++) {
    const ir::Node& n = g.node(i);
    std::vector<ValueId> ops = rw.mapped_operands(i);
    if (!foldable(rw.dst(), n, ops, g)) {
      rw.copy_node(i);
      continue;
    }
    std::vector<ir::Tensor> in_store;
    std::vector<const ir::Tensor*> in;
    for (ValueId o : ops) in_store.emplace_back(rw.dst().type(o), rw.dst().value(o).data);
    for (auto& t : in_store) in.push_back(&t);
    std::vector<ir::Tensor> out;
    for (ValueId r : n.results) out.emplace_back(g.type(r));
    try {
      (*ir::find_eval(n.op->name))(n, in, out, ir::EvalContext{});
    } catch (const Error&) { // bad data (a label out of range): leave it to fail at run time
      rw.copy_node(i);
      continue;
    }
    for (size_t r = 0; r < n.results.size(); r++) {
      out[r].round_to_f32();
      rw.replace(n.results[r], rw.dst().add_constant(g.value(n.results[r]).name, g.type(n.results[r]),
                                                     out[r].to_float()));
    }
  }
  return rw.finish();
}

} // namespace dlc::passes
