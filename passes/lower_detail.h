// Internals of the lower pass (passes/lower*.cpp, batch_axis.cpp): the batch analysis and
// the per-op lowering of anchors. Not for backends: they read steps.h only.
#pragma once

#include "passes/program.h"
#include "passes/steps.h"

#include <functional>
#include <map>

namespace dlc::passes::lower_detail {

// Which values carry the batch on axis 0 (their first n samples are what a run of n
// uses): the graph inputs with a batch axis, and whatever is computed from them sample by
// sample. Reductions over the batch, losses and contractions over it (dW = x^T dy) end
// it. Throws dlc::Error for an op that would move the batch axis (a transpose of axis 0,
// a reshape that merges it, a matmul whose columns are samples).
std::vector<bool> batched_values(const ir::Graph& g, int64_t batch);

// An extent of axis `axis` (or of the product of axes [from, to)) of a value: batched
// when the range includes axis 0 of a batched value.
struct Dims {
  const ir::Shape& shape;
  bool batched;
  int64_t batch;
  Extent prod(int from, int to) const;
  Extent dim(int axis) const { return prod(axis, axis + 1); }
  Extent all() const { return prod(0, shape.rank()); }
};

inline Arg null_arg(const char* name = "bias") {
  Arg a;
  a.kind = ArgKind::null;
  a.name = name;
  return a;
}

// What lowering an anchor needs: where each operand and the result live.
struct AnchorContext {
  const ir::Graph& g;
  const ir::Node& node;
  std::vector<Ref> operands;         // one per node operand
  std::vector<bool> operand_batched; // one per node operand
  std::vector<Ref> results;          // one per node result
  std::vector<bool> result_batched;
  int64_t batch = 0;
  Ref workspace;
  // The epilogue folded into a matmul or conv: a bias (ArgKind::null: none) and an
  // activation (dlc_rt::Act; `slope` for leaky_relu). epilogue() gives its arguments.
  Arg bias = null_arg();
  int64_t act = 0;
  double slope = 0.01;
  bool has_epilogue() const { return bias.kind != ArgKind::null || act != 0; }

  const ir::TensorType& in_type(size_t i) const { return g.type(node.operands[i]); }
  const ir::TensorType& out_type(size_t i = 0) const { return g.type(node.results[i]); }
  Dims in_dims(size_t i) const { return {in_type(i).shape, operand_batched[i], batch}; }
  Dims out_dims(size_t i = 0) const { return {out_type(i).shape, result_batched[i], batch}; }
};

// Arguments, named after the C parameters of runtime/c_api.h: pointers read (ptr) or
// written (out), integers, reals.
Arg ptr(const Ref& r, const char* name);
Arg out(const Ref& r, const char* name);
Arg i64(Extent e, const char* name);
Arg i64(int64_t v, const char* name);
Arg f32(double v, const char* name);

// The steps computing one anchor. Throws dlc::Error for an op with no lowering.
std::vector<Step> lower_anchor(const AnchorContext& c);

// The index of `shape` broadcast (numpy rules) over element i of `space`.
Index broadcast_index(const ir::Shape& shape, const ir::Shape& space);
// Element offsets of a row-major tensor of `shape` read with axes permuted / sliced:
// out element i of `out` shape reads in element sum((i / ostride_d % out_d) * in_stride[d]).
Index strided_index(const ir::Shape& out, const std::vector<int64_t>& in_strides);

// Where element i of slice(x) {axis, begin, size} lives, x of shape `in` at `base` and the
// slice of shape `out`: a reference to the slice's first element and the index from there.
struct StridedRead {
  Ref ref;
  Index index;
};
StridedRead slice_read(Ref base, const ir::Shape& in, const ir::Attrs& attrs, const ir::Shape& out);

// Appends a buffer of type `t` to p.buffers; returns its index.
int add_buffer(Program& p, const std::string& name, ir::ValueId v, const ir::TensorType& t, Region r, BufferKind kind,
               int kernel = -1);

// The steps of loop node c.node (a `scan`), the first anchor of kernel `k`: its body
// compiled as a program of its own, its buffers placed inside one buffer of this program,
// and the body's steps repeated once per time step between the copies that move the
// carried values, the step's slices and the stacked outputs (passes/lower_loop.cpp).
std::vector<Step> lower_scan(Program& p, const Kernel& k, const AnchorContext& c);

} // namespace dlc::passes::lower_detail
