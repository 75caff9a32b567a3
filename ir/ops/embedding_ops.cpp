// Token embeddings: a lookup of table rows by token id, and its gradient.
//
//   embedding_lookup(ids [...], table [V, E]) -> [..., E]   row ids[i] of the table
//   embedding_grad(ids [...], dy [..., E]) {vocabulary: V} -> [V, E]
//                                            the rows of dy added into a zero table at
//                                            their ids, in increasing position order
//
// Ids are f32 holding integers (tensors cross the Runner boundary as floats; exact below
// 2^24) or integer tensors. An id outside [0, V) or not an integer is an error in the
// interpreter; the runtime kernels write a zero row for it (lookup) or skip it (gradient),
// never reading or writing outside the table. The CLI rejects such data before it runs.
#include "ir/ops/common.h"

namespace dlc::ir::ops {

namespace {

void expect_ids(const InferContext& c) {
  if (c.in[0].dtype != DType::f32 && !is_integer(c.in[0].dtype))
    c.fail("token ids must be f32 or integers, got {}", c.in[0].str());
}

} // namespace

void register_embedding_ops() {
  register_with({"embedding_lookup", "rows of a table by token id", 2, 2, {},
               [](const InferContext& c) {
                 expect_ids(c);
                 c.expect_float(1);
                 c.expect_rank(1, 2);
                 Shape out = c.in[0].shape;
                 out.dims.push_back(c.in[1].shape[1]);
                 return std::vector<TensorType>{f32(out)};
               },
               OpClass::shape}, batch_sample_wise());

  register_with({"embedding_grad", "scatter-add of gradient rows into a table", 2, 2,
               {{"vocabulary", AttrKind::Int}},
               [](const InferContext& c) {
                 expect_ids(c);
                 c.expect_float(1);
                 int64_t v = c.attrs.get_int("vocabulary");
                 if (v <= 0) c.fail("vocabulary must be positive, got {}", v);
                 const Shape& ids = c.in[0].shape;
                 const Shape& dy = c.in[1].shape;
                 bool ok = dy.rank() == ids.rank() + 1;
                 for (int d = 0; ok && d < ids.rank(); d++) ok = dy[d] == ids[d];
                 if (!ok) c.fail("gradient {} does not fit ids {} (expected [..ids.., E])", c.in[1].str(), c.in[0].str());
                 return std::vector<TensorType>{f32(Shape{v, dy[dy.rank() - 1]})};
               },
               OpClass::reduction}, batch_ends()).phase = Phase::backward;
  registered_op("embedding_lookup").example = example({ids_in(f32({2, 3}), 6), f32_in({6, 4})});
  registered_op("embedding_grad").example =
      example({ids_in(f32({2, 3}), 6), f32_in({2, 3, 4})}, {{"vocabulary", int64_t(6)}});
}

} // namespace dlc::ir::ops
