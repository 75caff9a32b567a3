// The batch analysis: which values carry the run-time batch on axis 0.
//
// Forward dataflow from the graph inputs, one rule per op family. A value is batched when
// its axis 0 holds the samples, so that a run of n samples computes exactly its first n
// rows; sizes derived from it (GEMM rows, loop trip counts, the divisor of a batch mean)
// scale with n. The rules are written here once so that every backend agrees.
#include "codegen/lowering_detail.h"

#include "ir/error.h"
#include "passes/kernel.h"

#include <algorithm>
#include <set>

namespace dlc::codegen::lowering_detail {

namespace {

using ir::ValueId;

[[noreturn]] void cannot_follow(const ir::Node& n, const std::string& why) {
  throw Error(fmt::format("node '{}' ({}): cannot follow the batch axis: {}", n.name, n.op->name, why));
}

int normalized_axis(const ir::Node& n, const char* attr, int rank, int64_t dflt) {
  int64_t a = n.attrs.get_int(attr, dflt);
  return int(a < 0 ? a + rank : a);
}

bool reduces_axis0(const ir::Node& n, int rank) {
  if (!n.attrs.has("axes")) return true;
  for (int64_t a : n.attrs.get_ints("axes"))
    if ((a < 0 ? a + rank : a) == 0) return true;
  return false;
}

const std::set<std::string> kSampleWise = {
    "conv2d", "max_pool2d", "avg_pool2d", "conv2d_backprop_input", "max_pool2d_grad", "avg_pool2d_grad",
    "one_hot", "maxout", "maxout_grad", "reduce_max_grad", "flatten", "embedding_lookup"};

const std::set<std::string> kLossGrads = {"mse_grad", "softmax_cross_entropy_grad",
                                          "sparse_softmax_cross_entropy_grad", "binary_cross_entropy_grad",
                                          "sigmoid_binary_cross_entropy_grad"};

// Whether the results of node `n` are batched, given its operands'.
bool result_batched(const ir::Graph& g, const ir::Node& n, const std::vector<bool>& b, int64_t batch) {
  const std::string& op = n.op->name;
  std::vector<bool> in;
  for (ValueId o : n.operands) in.push_back(b[size_t(o)]);
  bool any = std::find(in.begin(), in.end(), true) != in.end();
  if (!any) return false;
  const ir::Shape& out = g.type(n.results[0]).shape;
  int in_rank = g.type(n.operands[0]).shape.rank();

  if (op == "matmul") {
    bool ta = n.attrs.get_bool("transpose_a", false), tb = n.attrs.get_bool("transpose_b", false);
    if (in.size() > 1 && in[1] && tb) cannot_follow(n, "the samples would become columns");
    if (in[0] && !ta) return true;
    // A contraction over the samples (dW = x^T dy): both operands must run over them.
    if (!(in[0] && ta && in.size() > 1 && in[1] && !tb)) cannot_follow(n, "a contraction mixes batched and unbatched rows");
    return false;
  }
  if (kSampleWise.count(op) || kLossGrads.count(op)) {
    if (!in[0]) cannot_follow(n, "its first operand has no batch axis");
    return true;
  }
  if (op == "conv2d_backprop_filter" || op == "prelu_grad_slope" || op == "embedding_grad" || n.op->cls == ir::OpClass::loss || op == "nadam_mu_product") return false;
  if (n.op->cls == ir::OpClass::optimizer) cannot_follow(n, "an optimizer update of a batched value");
  if (op == "reduce_sum" || op == "reduce_mean" || op == "reduce_max") return !reduces_axis0(n, in_rank);
  if (op == "reduce_to_shape") return out.rank() == in_rank && out[0] == g.type(n.operands[0]).shape[0];
  if (op == "softmax" || op == "log_softmax" || op == "softmax_grad" || op == "log_softmax_grad") {
    if (normalized_axis(n, "axis", in_rank, -1) == 0) cannot_follow(n, "softmax along the batch axis");
    return true;
  }
  if (op == "reshape") {
    // Rows stay sample-major: [batch, T, D] -> [batch * T, D] (the rows of every step, as
    // a recurrent layer's input projection reads them) keeps the first n samples as the
    // first n * T rows, and Dims scales such an axis 0 with n.
    if (out.rank() == 0 || out[0] % batch != 0) cannot_follow(n, "its rows would split samples");
    return true;
  }
  if (op == "transpose") {
    if (n.attrs.get_ints("perm").at(0) != 0) cannot_follow(n, "the transpose moves axis 0");
    return true;
  }
  if (op == "concat" || op == "slice" || op == "slice_grad") {
    if (normalized_axis(n, "axis", in_rank, 0) == 0) cannot_follow(n, "it joins or splits along the batch axis");
    return true;
  }
  if (n.op->cls == ir::OpClass::elementwise || op == "broadcast_to" || passes::is_body_op(op)) {
    // Broadcasting aligns trailing axes: a batched operand must have the result's rank.
    for (size_t i = 0; i < in.size(); i++)
      if (in[i] && g.type(n.operands[i]).shape.rank() != out.rank())
        cannot_follow(n, "a batched operand broadcasts to a higher rank");
    return true;
  }
  cannot_follow(n, "no batch rule for this op");
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

} // namespace dlc::codegen::lowering_detail
