// Storing a GEMM tile computed in a buffer (acc, rows x NR floats) into C: c = alpha*acc
// + beta*c, then, when the epilogue is due (final depth block), bias and activation. The
// packed GEMM's partial tiles (gemm.h) and the unpacked kernels (gemm_direct.h) store
// through it, so both apply the epilogue with the same code.
#pragma once

#include "runtime/kernels/activation.h"

#include <cstdint>

namespace dlc_rt {
namespace gemm_detail {

// Writes one micro-tile: c = alpha*acc + beta*c, then (final depth block) bias and act.
template <Act A, int NR>
inline void store_tile(const float* acc, float* c, int64_t ldc, int64_t rows, int64_t cols,
                       float alpha, float beta, const float* bias, float slope) {
  for (int64_t r = 0; r < rows; r++) {
    const float* DLC_RT_RESTRICT ar = acc + r * NR;
    float* DLC_RT_RESTRICT cr = c + r * ldc;
    if (beta == 0.0f) {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++) cr[j] = alpha * ar[j];
    } else {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++) cr[j] = alpha * ar[j] + beta * cr[j];
    }
    if (bias) {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++) cr[j] += bias[j];
    }
    if (A != Act::none) {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++) cr[j] = act_apply<A>(cr[j], slope);
    }
  }
}

template <int NR>
inline void store(const float* acc, float* c, int64_t ldc, int64_t rows, int64_t cols,
                  float alpha, float beta, const Epilogue* ep) {
  if (!ep) return store_tile<Act::none, NR>(acc, c, ldc, rows, cols, alpha, beta, nullptr, 0);
  const float* b = ep->bias;
  switch (ep->act) {
  case Act::relu: return store_tile<Act::relu, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  case Act::sigmoid:
    return store_tile<Act::sigmoid, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  case Act::tanh: return store_tile<Act::tanh, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  case Act::leaky_relu:
    return store_tile<Act::leaky_relu, NR>(acc, c, ldc, rows, cols, alpha, beta, b, ep->slope);
  default: return store_tile<Act::none, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  }
}

} // namespace gemm_detail
} // namespace dlc_rt
