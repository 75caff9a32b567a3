// Token embeddings and 1-of-N encoding over f32 token ids (semantics of
// ir/interp/eval_embedding.cpp and the one_hot op of ir/interp/eval_shape.cpp).
//
// Ids arrive as floats holding integers. An id that is not an integer in [0, V) (NaN,
// negative, too large, fractional) never indexes memory: its lookup row and its one-hot
// row are zeros, and its gradient row is skipped. The interpreter reports such an id as
// an error, and the dlc command line rejects such data before it runs a model.
#pragma once

#include "runtime/ftz.h"

#include <cmath>
#include <cstdint>

namespace dlc_rt {

// The row an id names, or -1 when it names none. The range is checked on the float
// before converting: casting NaN or a value beyond int64 would be undefined behaviour.
inline int64_t token_row(float id, int64_t vocab) {
  if (!(id >= 0.0f && double(id) < double(vocab)) || id != std::floor(id)) return -1;
  return int64_t(id);
}

// y[i, :] = table[ids[i], :] for `count` ids; table is [vocab, dim].
inline void embedding_lookup(int64_t count, int64_t vocab, int64_t dim, const float* ids, const float* table,
                             float* y) {
  enable_ftz();
  for (int64_t i = 0; i < count; i++) {
    int64_t r = token_row(ids[i], vocab);
    float* yr = y + i * dim;
    for (int64_t e = 0; e < dim; e++) yr[e] = r < 0 ? 0.0f : table[r * dim + e];
  }
}

// dt = 0, then dt[ids[i], :] += dy[i, :] for i = 0, 1, ... in order: the sums of each row
// run in position order, so the result is the same bits on every run.
inline void embedding_grad(int64_t count, int64_t vocab, int64_t dim, const float* ids, const float* dy,
                           float* dt) {
  enable_ftz();
  for (int64_t j = 0; j < vocab * dim; j++) dt[j] = 0.0f;
  for (int64_t i = 0; i < count; i++) {
    int64_t r = token_row(ids[i], vocab);
    if (r < 0) continue;
    const float* g = dy + i * dim;
    float* tr = dt + r * dim;
    for (int64_t e = 0; e < dim; e++) tr[e] += g[e];
  }
}

// y[i, :] = the 1-of-depth row of ids[i] (all zeros for an id outside [0, depth)).
inline void one_hot(int64_t count, int64_t depth, const float* ids, float* y) {
  enable_ftz();
  for (int64_t i = 0; i < count; i++) {
    int64_t r = token_row(ids[i], depth);
    float* yr = y + i * depth;
    for (int64_t k = 0; k < depth; k++) yr[k] = k == r ? 1.0f : 0.0f;
  }
}

} // namespace dlc_rt
