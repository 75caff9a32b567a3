// Gradient rules of matmul and transpose (ir/ops/linalg.cpp).
#include "passes/autodiff/grad_rule.h"

namespace dlc::passes::autodiff {

using ir::kNoValue;
using ir::ValueId;

namespace {

ir::Attrs transposes(bool ta, bool tb) {
  ir::Attrs a;
  if (ta) a.set("transpose_a", true);
  if (tb) a.set("transpose_b", true);
  return a;
}

// C = op(A)·op(B). With G = dC:
//   C = A B     dA = G Bᵀ     dB = Aᵀ G
//   C = Aᵀ B    dA = B Gᵀ     dB = A G
//   C = A Bᵀ    dA = G B      dB = Gᵀ A
//   C = Aᵀ Bᵀ   dA = Bᵀ Gᵀ    dB = Gᵀ Aᵀ
std::vector<ValueId> matmul_grad(GradCtx& c) {
  bool ta = c.attrs().get_bool("transpose_a", false), tb = c.attrs().get_bool("transpose_b", false);
  ValueId a = c.x(0), b = c.x(1), g = c.dy0();
  std::vector<ValueId> out(2, kNoValue);
  if (c.wants(0))
    out[0] = ta ? c.emit("matmul", {b, g}, transposes(tb, true)) : c.emit("matmul", {g, b}, transposes(false, !tb));
  if (c.wants(1))
    out[1] = tb ? c.emit("matmul", {g, a}, transposes(true, ta)) : c.emit("matmul", {a, g}, transposes(!ta, false));
  return out;
}

} // namespace

void register_linalg_grads() {
  register_grad("matmul", matmul_grad);
  register_grad("transpose", [](GradCtx& c) {
    auto& perm = c.attrs().get_ints("perm");
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); i++) inverse[size_t(perm[i])] = int64_t(i);
    return std::vector<ValueId>{c.emit("transpose", {c.dy0()}, {{"perm", inverse}})};
  });
}

} // namespace dlc::passes::autodiff
