// Packing for the GEMM driver: copies a block of op(A) or op(B) into contiguous panels in
// the order the micro-kernel reads them, zero-padding the last panel to a full tile.
//
//   A block rows [i0, i0+mc) x depth [k0, k0+kc) -> ceil(mc/MR) panels of kc*MR floats,
//     panel q holds rows i0+q*MR.. as dst[q*MR*kc + kk*MR + r].
//   B block depth [k0, k0+kc) x cols [j0, j0+nc) -> ceil(nc/NR) panels of kc*NR floats,
//     panel q holds cols j0+q*NR.. as dst[q*NR*kc + kk*NR + j].
//
// Any type with these pack functions can feed the driver: the convolutions use packers
// that gather im2col patches on the fly (implicit GEMM) instead of materialising them.
#pragma once

#include "runtime/kernels/common.h"

#include <algorithm>

namespace dlc_rt {

// Block sizes: MC is a multiple of every kernel's MR and NC of every NR, so one workspace
// size fits all kernels. A: MC x KC floats (120 KiB, L2), B: KC x NC (1 MiB).
// Overridable at compile time for tuning (bench/gemm.cpp); the tests assume the defaults.
#ifndef DLC_RT_GEMM_KC
#define DLC_RT_GEMM_KC 256
#endif
#ifndef DLC_RT_GEMM_MC
#define DLC_RT_GEMM_MC 120
#endif
#ifndef DLC_RT_GEMM_NC
#define DLC_RT_GEMM_NC 1024
#endif
constexpr int64_t kGemmKC = DLC_RT_GEMM_KC, kGemmMC = DLC_RT_GEMM_MC, kGemmNC = DLC_RT_GEMM_NC;
static_assert(kGemmMC % 12 == 0 && kGemmNC % 32 == 0, "blocks must hold whole micro-tiles");

// A plain row-major matrix as the A operand: A(i, k) = a[i*lda + k], or a[k*lda + i]
// when transposed.
struct PackMatrixA {
  const float* a;
  int64_t lda;
  bool trans;

  template <int MR>
  void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* DLC_RT_RESTRICT dst) const {
    for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc) {
      int64_t rows = std::min<int64_t>(MR, mc - p0);
      if (trans) {
        for (int64_t kk = 0; kk < kc; kk++) {
          const float* src = a + (k0 + kk) * lda + i0 + p0;
          float* d = dst + kk * MR;
          for (int64_t r = 0; r < rows; r++) d[r] = src[r];
          for (int64_t r = rows; r < MR; r++) d[r] = 0.0f;
        }
        continue;
      }
      // Row by row: each source row is read sequentially (column by column, the MR rows
      // a power-of-two stride apart would compete for the same L1 set).
      for (int64_t r = 0; r < rows; r++) {
        const float* src = a + (i0 + p0 + r) * lda + k0;
        for (int64_t kk = 0; kk < kc; kk++) dst[kk * MR + r] = src[kk];
      }
      for (int64_t r = rows; r < MR; r++)
        for (int64_t kk = 0; kk < kc; kk++) dst[kk * MR + r] = 0.0f;
    }
  }
};

// A plain row-major matrix as the B operand: B(k, j) = b[k*ldb + j], or b[j*ldb + k]
// when transposed.
struct PackMatrixB {
  const float* b;
  int64_t ldb;
  bool trans;

  template <int NR>
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* DLC_RT_RESTRICT dst) const {
    for (int64_t q0 = 0; q0 < nc; q0 += NR, dst += NR * kc) {
      int64_t cols = std::min<int64_t>(NR, nc - q0);
      for (int64_t kk = 0; kk < kc; kk++) {
        float* d = dst + kk * NR;
        if (trans) {
          const float* src = b + (j0 + q0) * ldb + k0 + kk;
          for (int64_t j = 0; j < cols; j++) d[j] = src[j * ldb];
        } else {
          const float* src = b + (k0 + kk) * ldb + j0 + q0;
          for (int64_t j = 0; j < cols; j++) d[j] = src[j];
        }
        for (int64_t j = cols; j < NR; j++) d[j] = 0.0f;
      }
    }
  }
};

} // namespace dlc_rt
