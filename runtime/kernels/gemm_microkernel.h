// GEMM micro-kernels: acc[MR x NR] = sum over p < kc of a[p*MR + r] * b[p*NR + j], where
// a and b are packed panels (see gemm_pack.h); with RowsA, A's panel is row-major,
// a[r*kc + p] (the implicit GEMMs' packers write it by plain copies). Either way each
// element sums its kc products in order, one FMA each, so the layout changes no bit.
// The driver (gemm.h) applies alpha, beta and the epilogue when it stores acc into C.
//
// Two kernels: a portable one written so compilers auto-vectorise it (fixed MR x NR tile,
// local accumulators, no aliasing), and an AVX-512 one with intrinsics. The AVX-512 kernel
// is compiled in and chosen as simd.h describes (DLC_RT_HAVE_AVX512, avx512_usable()).
#pragma once

#include "runtime/kernels/common.h"
#include "runtime/kernels/simd.h"

namespace dlc_rt {

// The portable kernel's tile: as large as the vector registers hold without spilling
// (AVX: 16 ymm; otherwise 16 xmm).
struct PortableKernel {
#if defined(__AVX__)
  static constexpr int MR = 6, NR = 16;
#else
  static constexpr int MR = 4, NR = 8;
#endif
  static constexpr bool has_direct_store = false, avx512 = false;
  // The r and j loops are unrolled completely so that every c[r][j] can live in a
  // register (left rolled, GCC keeps c in memory and the loop runs 5-10x slower).
  template <bool RowsA = false>
  static void run(int64_t kc, const float* DLC_RT_RESTRICT a, const float* DLC_RT_RESTRICT b,
                  float* DLC_RT_RESTRICT acc) {
    float c[MR][NR] = {};
    for (int64_t p = 0; p < kc; p++) {
      const float* ap = RowsA ? a + p : a + p * MR;
      const float* bp = b + p * NR;
      DLC_RT_UNROLL
      for (int r = 0; r < MR; r++) {
        float av = RowsA ? ap[r * kc] : ap[r];
        DLC_RT_UNROLL
        for (int j = 0; j < NR; j++)
          c[r][j] += av * bp[j];
      }
    }
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++)
        acc[r * NR + j] = c[r][j];
  }
};

#ifdef DLC_RT_HAVE_AVX512
// 12 x 32 tile: 24 zmm accumulators, 2 for the B row, 1 broadcast (BLIS's SKX shape).
// run() writes the tile to acc; run_to_c() stores a full tile straight into C as
// alpha*acc + beta*C (one multiply per term, then the add: what the driver's store does),
// skipping the round trip through acc when no epilogue is due.
struct Avx512Kernel {
  static constexpr int MR = 12, NR = 32;
  static constexpr bool has_direct_store = true, avx512 = true;

  template <bool RowsA = false>
  DLC_RT_TARGET_AVX512 static void run(int64_t kc, const float* a, const float* b, float* acc) {
    tile<false, RowsA>(kc, a, b, acc, NR, 1.0f, 0.0f);
  }
  template <bool RowsA = false>
  DLC_RT_TARGET_AVX512 static void run_to_c(int64_t kc, const float* a, const float* b, float* c,
                                            int64_t ldc, float alpha, float beta) {
    tile<true, RowsA>(kc, a, b, c, ldc, alpha, beta);
  }

private:
  template <bool ToC>
  DLC_RT_TARGET_AVX512 static inline void store_row(float* o, __m512 x0, __m512 x1, float alpha,
                                                    float beta) {
    if (ToC) {
      __m512 va = _mm512_set1_ps(alpha);
      x0 = _mm512_mul_ps(va, x0);
      x1 = _mm512_mul_ps(va, x1);
      if (beta != 0.0f) { // beta == 0: C may hold garbage and is not read
        __m512 vb = _mm512_set1_ps(beta);
        x0 = _mm512_add_ps(x0, _mm512_mul_ps(vb, _mm512_loadu_ps(o)));
        x1 = _mm512_add_ps(x1, _mm512_mul_ps(vb, _mm512_loadu_ps(o + 16)));
      }
    }
    _mm512_storeu_ps(o, x0);
    _mm512_storeu_ps(o + 16, x1);
  }

  template <bool ToC, bool RowsA>
  DLC_RT_TARGET_AVX512 static inline void tile(int64_t kc, const float* a, const float* b,
                                               float* out, int64_t ld, float alpha, float beta) {
#define DLC_RT_ZERO_ROW(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define DLC_RT_FMA_ROW(r)                                                                          \
  {                                                                                                \
    __m512 av = _mm512_set1_ps(RowsA ? a[r * kc] : a[r]);                                          \
    c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                                    \
    c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                                                    \
  }
#define DLC_RT_STORE_ROW(r) store_row<ToC>(out + r * ld, c##r##0, c##r##1, alpha, beta);
#define DLC_RT_PREFETCH_ROW(r)                                                                     \
  _mm_prefetch(reinterpret_cast<const char*>(out + r * ld), _MM_HINT_T0);                          \
  _mm_prefetch(reinterpret_cast<const char*>(out + r * ld + NR - 1), _MM_HINT_T0);
#define DLC_RT_ALL_ROWS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)
    // C's rows are read (beta != 0) and written after the depth loop: fetching them now
    // hides their latency behind the loop (a large C lives in L3, ~100 cycles away).
    if (ToC) {
      DLC_RT_ALL_ROWS(DLC_RT_PREFETCH_ROW)
    }
    DLC_RT_ALL_ROWS(DLC_RT_ZERO_ROW)
    for (int64_t p = 0; p < kc; p++) {
      __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
      DLC_RT_ALL_ROWS(DLC_RT_FMA_ROW)
      a += RowsA ? 1 : MR;
      b += NR;
    }
    DLC_RT_ALL_ROWS(DLC_RT_STORE_ROW)
#undef DLC_RT_ALL_ROWS
#undef DLC_RT_STORE_ROW
#undef DLC_RT_FMA_ROW
#undef DLC_RT_ZERO_ROW
#undef DLC_RT_PREFETCH_ROW
  }
};
#endif

} // namespace dlc_rt
