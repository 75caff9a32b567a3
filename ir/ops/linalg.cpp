// matmul (2-D, with optional transposes for backpropagation) and transpose.
#include "ir/ops/common.h"

#include <algorithm>

namespace dlc::ir::ops {

void register_linalg_ops() {
  // C[M,N] = op(A) · op(B), op(X) = Xᵀ when transpose_x is set.
  // A GEMM applies a bias and an activation to its results in its epilogue.
  register_with({"matmul", "C = op(A)·op(B)", 2, 2,
               {{"transpose_a", AttrKind::Bool, false}, {"transpose_b", AttrKind::Bool, false}},
               [](const InferContext& c) {
                 c.expect_float(0);
                 c.expect_float(1);
                 c.expect_rank(0, 2);
                 c.expect_rank(1, 2);
                 bool ta = c.attrs.get_bool("transpose_a", false);
                 bool tb = c.attrs.get_bool("transpose_b", false);
                 const Shape& a = c.in[0].shape;
                 const Shape& b = c.in[1].shape;
                 int64_t m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1];
                 int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
                 if (ka != kb)
                   c.fail("inner dimensions differ: {}{} · {}{}", a.str(), ta ? "ᵀ" : "", b.str(),
                          tb ? "ᵀ" : "");
                 return std::vector<TensorType>{f32({m, n})};
               },
               OpClass::linalg}, [](const BatchContext& c) {
                 bool ta = c.attrs.get_bool("transpose_a", false), tb = c.attrs.get_bool("transpose_b", false);
                 if (c.batched[1] && tb) c.fail("the samples would become columns");
                 if (c.batched[0] && !ta) return true;
                 // A contraction over the samples (dW = x^T dy): both operands must run over them.
                 if (!(c.batched[0] && ta && c.batched[1] && !tb)) c.fail("a contraction mixes batched and unbatched rows");
                 return false;
               })
      .takes_epilogue = true;

  register_with({"transpose", "permutes axes", 1, 1, {{"perm", AttrKind::Ints}},
               [](const InferContext& c) {
                 auto& perm = c.attrs.get_ints("perm");
                 const Shape& s = c.in[0].shape;
                 if (int(perm.size()) != s.rank())
                   c.fail("perm has {} entries for rank {}", perm.size(), s.rank());
                 std::vector<bool> seen(perm.size());
                 Shape out;
                 for (int64_t p : perm) {
                   if (p < 0 || p >= s.rank() || seen[size_t(p)])
                     c.fail("perm must be a permutation of 0..{}", s.rank() - 1);
                   seen[size_t(p)] = true;
                   out.dims.push_back(s[int(p)]);
                 }
                 return std::vector<TensorType>{TensorType{c.in[0].dtype, out}};
               },
               OpClass::shape}, [](const BatchContext& c) {
                 if (c.attrs.get_ints("perm").at(0) != 0) c.fail("the transpose moves axis 0");
                 return true;
               });
  registered_op("matmul").example = example({f32_in({3, 5}), f32_in({5, 4})});
  registered_op("transpose").example = example({f32_in({2, 3, 4})}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
}

} // namespace dlc::ir::ops
