// Element-wise and row/column helpers over f32 arrays: bias add and its gradient (the
// column sum a dense or convolutional layer's bias needs), axpy, scaling, copies.
// Each is one pass over memory with a plain loop the compiler vectorises; reductions run
// in a fixed order, so results are deterministic.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/activation.h"

namespace dlc_rt {

// y[i, j] = act(x[i, j] + bias[j]) over rows x cols; y may equal x.
inline void bias_add(int64_t rows, int64_t cols, const float* x, const float* bias, float* y,
                     Act act = Act::none, float slope = 0.01f) {
  enable_ftz();
  for (int64_t i = 0; i < rows; i++) {
    const float* xr = x + i * cols;
    float* yr = y + i * cols;
    DLC_RT_IVDEP
    for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] + bias[j];
    activation_forward(act, yr, yr, cols, slope);
  }
}

// db[j] = beta*db[j] + sum_i dy[i, j]: the bias gradient, summed in row order.
inline void bias_grad(int64_t rows, int64_t cols, const float* dy, float* db, float beta = 0.0f) {
  enable_ftz();
  for (int64_t j = 0; j < cols; j++) db[j] = beta == 0.0f ? 0.0f : beta * db[j];
  for (int64_t i = 0; i < rows; i++) {
    const float* DLC_RT_RESTRICT g = dy + i * cols;
    float* DLC_RT_RESTRICT out = db;
    DLC_RT_IVDEP
    for (int64_t j = 0; j < cols; j++) out[j] += g[j];
  }
}

// y[i] += a * x[i].
inline void axpy(int64_t n, float a, const float* DLC_RT_RESTRICT x, float* DLC_RT_RESTRICT y) {
  enable_ftz();
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

// y[i] = a * x[i]; y may equal x.
inline void scale(int64_t n, float a, const float* x, float* y) {
  DLC_RT_IVDEP
  for (int64_t i = 0; i < n; i++) y[i] = a * x[i];
}

// z[i] = x[i] + y[i]; z may equal x or y.
inline void add(int64_t n, const float* x, const float* y, float* z) {
  DLC_RT_IVDEP
  for (int64_t i = 0; i < n; i++) z[i] = x[i] + y[i];
}

inline void fill(int64_t n, float v, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = v;
}

inline void copy(int64_t n, const float* DLC_RT_RESTRICT x, float* DLC_RT_RESTRICT y) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i];
}

} // namespace dlc_rt
