// Helpers shared by the interpreter's op kernels.
#pragma once

#include "ir/error.h"
#include "ir/graph.h"
#include "ir/interp/interpreter.h"

#include <cmath>
#include <vector>

namespace dlc::ir::interp {

// For each element of `out`, the flat index of the element of `in` it reads under
// numpy broadcasting (in's shape broadcasts to out's).
inline std::vector<int64_t> broadcast_map(const Shape& in, const Shape& out) {
  int r = out.rank(), off = r - in.rank();
  std::vector<int64_t> in_strides(size_t(r), 0);
  auto st = strides_of(in);
  for (int d = 0; d < in.rank(); d++) in_strides[size_t(d + off)] = in[d] == 1 ? 0 : st[size_t(d)];
  std::vector<int64_t> map(size_t(out.numel()));
  std::vector<int64_t> idx(size_t(r), 0);
  for (int64_t i = 0; i < out.numel(); i++) {
    int64_t src = 0;
    for (int d = 0; d < r; d++) src += idx[size_t(d)] * in_strides[size_t(d)];
    map[size_t(i)] = src;
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[size_t(d)] < out[d]) break;
      idx[size_t(d)] = 0;
    }
  }
  return map;
}

// Size of the last axis, and the number of rows before it.
inline int64_t last_dim(const Shape& s) { return s.rank() ? s[s.rank() - 1] : 1; }

// A label or index read from a tensor, checked against [0, depth).
// The range is checked on the double before converting: casting NaN or a value beyond
// int64 would be undefined behaviour.
inline int64_t checked_index(const Node& n, double v, int64_t depth, int64_t at) {
  if (!(v >= 0 && v < double(depth)))
    throw Error(fmt::format("node '{}' ({}): index {} at position {} is outside [0, {})", n.name,
                            n.op->name, v, at, depth));
  if (v != std::floor(v))
    throw Error(fmt::format("node '{}' ({}): index {} at position {} is not an integer", n.name, n.op->name, v, at));
  return int64_t(v);
}

void register_elementwise_evals();
void register_linalg_evals();
void register_augment_evals(); // eval_augment.cpp
void register_window_evals();
void register_depthwise_evals(); // eval_depthwise.cpp
void register_shape_evals();
void register_reduction_evals();
void register_loss_evals();
void register_optimizer_evals(); // eval_optimizer.cpp
void register_grad_evals();        // backward ops: eval_grad.cpp
void register_window_grad_evals(); // eval_grad_window.cpp
void register_loss_grad_evals();   // eval_grad_loss.cpp
void register_embedding_evals();   // eval_embedding.cpp
void register_loop_evals();        // eval_loop.cpp

} // namespace dlc::ir::interp
