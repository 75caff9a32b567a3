// Storing a GEMM tile computed in a buffer (acc, rows x NR floats) into C: c = alpha*acc
// + beta*c, then, when the epilogue is due (final depth block), bias and activation. The
// packed GEMM's partial tiles (gemm.h) and the unpacked kernels (gemm_direct.h) store
// through it, so both apply the epilogue with the same code.
#pragma once

#include "runtime/kernels/activation.h"
#include "runtime/kernels/simd.h"

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
      for (int64_t j = 0; j < cols; j++)
        cr[j] = alpha * ar[j];
    } else {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++)
        cr[j] = alpha * ar[j] + beta * cr[j];
    }
    if (bias) {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++)
        cr[j] += bias[j];
    }
    if (A != Act::none) {
      DLC_RT_IVDEP
      for (int64_t j = 0; j < cols; j++)
        cr[j] = act_apply<A>(cr[j], slope);
    }
  }
}

template <int NR>
inline void store(const float* acc, float* c, int64_t ldc, int64_t rows, int64_t cols, float alpha,
                  float beta, const Epilogue* ep) {
  if (!ep) return store_tile<Act::none, NR>(acc, c, ldc, rows, cols, alpha, beta, nullptr, 0);
  const float* b = ep->bias;
  switch (ep->act) {
  case Act::relu:
    return store_tile<Act::relu, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  case Act::sigmoid:
    return store_tile<Act::sigmoid, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  case Act::tanh:
    return store_tile<Act::tanh, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  case Act::leaky_relu:
    return store_tile<Act::leaky_relu, NR>(acc, c, ldc, rows, cols, alpha, beta, b, ep->slope);
  default:
    return store_tile<Act::none, NR>(acc, c, ldc, rows, cols, alpha, beta, b, 0);
  }
}

#ifdef DLC_RT_HAVE_AVX512
// store() with AVX-512, 16 columns a vector: the same operations in the same order (alpha
// times acc, plus beta times c, plus the bias, then the activation), masked at the right
// edge. relu, leaky_relu and no activation give store()'s bits; sigmoid and tanh use
// simd.h's vector functions (a few ulp from the C library's). The AVX-512 kernels store
// through it: compiled generically (the JIT's copy of the runtime) store() would run
// scalar, with a call to expf per element for sigmoid.
template <int NR>
DLC_RT_TARGET_AVX512 inline void store_avx512(const float* acc, float* c, int64_t ldc, int64_t rows,
                                              int64_t cols, float alpha, float beta,
                                              const Epilogue* ep) {
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t j0 = 0; j0 < cols; j0 += 16) {
    const __mmask16 m = simd::lanes(cols - j0);
    const bool bias = ep && ep->bias;
    const __m512 vbias = bias ? _mm512_maskz_loadu_ps(m, ep->bias + j0) : _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; r++) {
      float* cr = c + r * ldc + j0;
      __m512 v = _mm512_mul_ps(va, _mm512_loadu_ps(acc + r * NR + j0));
      if (beta != 0.0f) v = _mm512_add_ps(v, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m, cr)));
      if (bias) v = _mm512_add_ps(v, vbias);
      if (ep) v = simd::activate(ep->act, v, ep->slope);
      _mm512_mask_storeu_ps(cr, m, v);
    }
  }
}
#endif

// The store for a kernel: store_avx512 for the AVX-512 ones.
template <bool Avx512, int NR>
inline void store_for(const float* acc, float* c, int64_t ldc, int64_t rows, int64_t cols,
                      float alpha, float beta, const Epilogue* ep) {
#ifdef DLC_RT_HAVE_AVX512
  if constexpr (Avx512) {
    store_avx512<NR>(acc, c, ldc, rows, cols, alpha, beta, ep);
    return;
  }
#endif
  store<NR>(acc, c, ldc, rows, cols, alpha, beta, ep);
}

} // namespace gemm_detail
} // namespace dlc_rt
