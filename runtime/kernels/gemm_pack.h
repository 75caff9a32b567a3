// Packing for the GEMM driver: copies a block of op(A) or op(B) into contiguous panels in
// the order the micro-kernel reads them, zero-padding the last panel to a full tile.
//
//   A block rows [i0, i0+mc) x depth [k0, k0+kc) -> ceil(mc/MR) panels of kc*MR floats,
//     panel q holds rows i0+q*MR.. as dst[q*MR*kc + kk*MR + r], or, from a packer that
//     declares `rows_major = true`, as dst[q*MR*kc + r*kc + kk]: each row's depth run
//     contiguous, which an implicit GEMM's packer fills by plain copies (the kernels
//     broadcast A's values one by one either way; panels_by_rows below).
//   B block depth [k0, k0+kc) x cols [j0, j0+nc) -> ceil(nc/NR) panels of kc*NR floats,
//     panel q holds cols j0+q*NR.. as dst[q*NR*kc + kk*NR + j].
//
// Any type with these pack functions can feed the driver: the convolutions use packers
// that gather im2col patches on the fly (implicit GEMM) instead of materialising them.
#pragma once

#include "runtime/kernels/common.h"
#include "runtime/kernels/simd.h"

#include <algorithm>
#include <type_traits>

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

// Whether a packer of A writes its panels row-major (`static constexpr bool rows_major`).
template <class PackA, class = void> struct PanelsByRows : std::false_type {};
template <class PackA>
struct PanelsByRows<PackA, std::void_t<decltype(PackA::rows_major)>> : std::bool_constant<PackA::rows_major> {};
template <class PackA> constexpr bool panels_by_rows() { return PanelsByRows<PackA>::value; }

#ifdef DLC_RT_HAVE_AVX512
namespace pack_detail {

// Transposes a 16 x 16 block in registers: afterwards v[t] lane r is the old v[r] lane t.
// Pairs of rows interleave by floats, then by pairs of floats, then the 128-bit lanes are
// gathered in two steps (64 shuffles for 256 floats, against 256 scalar moves). The maskz
// forms with every lane set: as in simd.h, GCC 12 warns on the plain ones.
DLC_RT_TARGET_AVX512 DLC_RT_ALWAYS_INLINE inline void transpose16(__m512 (&v)[16]) {
  __m512 t[16];
  DLC_RT_UNROLL
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_maskz_unpacklo_ps(0xFFFF, v[i], v[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, v[i], v[i + 1]);
  }
  // Per 128-bit lane q, u[4g + c] holds rows 4g..4g+3 of column 4q + c.
  __m512 u[16];
  DLC_RT_UNROLL
  for (int g = 0; g < 16; g += 4) {
    __m512d a = _mm512_castps_pd(t[g]), b = _mm512_castps_pd(t[g + 1]);
    __m512d c = _mm512_castps_pd(t[g + 2]), d = _mm512_castps_pd(t[g + 3]);
    u[g] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, a, c));
    u[g + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, a, c));
    u[g + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, b, d));
    u[g + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, b, d));
  }
  // For c < 4, w[8h + c] holds, lane by lane, rows 8h..8h+3 of column c, the same rows of
  // column c+8, rows 8h+4..8h+7 of column c, those of column c+8; w[8h + 4 + c] the same
  // for columns c+4 and c+12.
  __m512 w[16];
  DLC_RT_UNROLL
  for (int h = 0; h < 2; h++)
    DLC_RT_UNROLL
    for (int c = 0; c < 4; c++) {
      __m512 lo = u[8 * h + c], hi = u[8 * h + 4 + c];
      w[8 * h + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, lo, hi, 0x88);     // columns c, c+8
      w[8 * h + 4 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, lo, hi, 0xDD); // columns c+4, c+12
    }
  DLC_RT_UNROLL
  for (int c = 0; c < 8; c++) {
    v[c] = _mm512_maskz_shuffle_f32x4(0xFFFF, w[c], w[8 + c], 0x88);
    v[c + 8] = _mm512_maskz_shuffle_f32x4(0xFFFF, w[c], w[8 + c], 0xDD);
  }
}

// dst[kk*ld + r] = src[r*stride + kk] for kk < kc and r < width, where rows r >= rows
// (rows <= width <= 16) are zeros: `rows` source rows read along their length, written
// depth-major as a panel `width` wide.
DLC_RT_TARGET_AVX512 inline void transpose_rows(const float* src, int64_t stride, int64_t rows,
                                                int64_t kc, float* dst, int64_t ld, int width) {
  const __mmask16 out = simd::lanes(width);
  for (int64_t k0 = 0; k0 < kc; k0 += 16) {
    int64_t n = std::min<int64_t>(16, kc - k0);
    __mmask16 in = simd::lanes(n);
    __m512 v[16];
    DLC_RT_UNROLL
    for (int r = 0; r < 16; r++)
      v[r] = r < rows ? _mm512_maskz_loadu_ps(in, src + r * stride + k0) : _mm512_setzero_ps();
    transpose16(v);
    DLC_RT_UNROLL // with t a constant, v stays in registers
    for (int t = 0; t < 16; t++)
      if (t < n) _mm512_mask_storeu_ps(dst + (k0 + t) * ld, out, v[t]);
  }
}

// dst[j] = src[j] for j < n <= 16, or zeros when src is null: one masked load and store.
DLC_RT_TARGET_AVX512 inline void copy_or_zero16(const float* src, int64_t n, float* dst) {
  const __mmask16 m = simd::lanes(n);
  _mm512_mask_storeu_ps(dst, m, src ? _mm512_maskz_loadu_ps(m, src) : _mm512_setzero_ps());
}

// dst[kk*ld + j] = src[kk*stride + j] for kk < kc and j < width, zeros from column
// `cols` on (cols <= width <= 16).
DLC_RT_TARGET_AVX512 inline void copy_rows(const float* src, int64_t stride, int64_t cols,
                                           int64_t kc, float* dst, int64_t ld, int width) {
  const __mmask16 in = simd::lanes(cols), out = simd::lanes(width);
  for (int64_t kk = 0; kk < kc; kk++)
    _mm512_mask_storeu_ps(dst + kk * ld, out, _mm512_maskz_loadu_ps(in, src + kk * stride));
}

// A panel `width` wide (rows of A, or columns of B) from `count` source vectors starting
// at src, each `step` floats after the previous, either read along the depth (`across`:
// vector i's element kk at src[i*step + kk]) or stored depth-major (src[kk*step + i]).
// Groups of 16 lanes: the AVX-512 packers' one entry.
DLC_RT_TARGET_AVX512 inline void pack_panel(const float* src, int64_t step, bool across,
                                            int64_t count, int64_t kc, float* dst, int width) {
  for (int g = 0; g < width; g += 16) {
    int lanes = std::min(16, width - g);
    int64_t have = std::clamp<int64_t>(count - g, 0, lanes);
    if (across)
      transpose_rows(src + (have > 0 ? g * step : 0), step, have, kc, dst + g, width, lanes);
    else
      copy_rows(src + (have > 0 ? g : 0), step, have, kc, dst + g, width, lanes);
  }
}

} // namespace pack_detail
#endif

// A plain row-major matrix as the A operand: A(i, k) = a[i*lda + k], or a[k*lda + i]
// when transposed.
struct PackMatrixA {
  static constexpr bool copies = true; // see packs_by_copy (gemm_parallel.h)
  const float* a;
  int64_t lda;
  bool trans;

  template <int MR>
  void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* DLC_RT_RESTRICT dst) const {
#ifdef DLC_RT_HAVE_AVX512
    if (MR <= 16 && avx512_usable()) {
      for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc)
        pack_detail::pack_panel(trans ? a + k0 * lda + i0 + p0 : a + (i0 + p0) * lda + k0, lda,
                                !trans, std::min<int64_t>(MR, mc - p0), kc, dst, MR);
      return;
    }
#endif
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
#ifdef DLC_RT_HAVE_AVX512
    if (avx512_usable()) {
      for (int64_t q0 = 0; q0 < nc; q0 += NR, dst += NR * kc)
        pack_detail::pack_panel(trans ? b + (j0 + q0) * ldb + k0 : b + k0 * ldb + j0 + q0, ldb,
                                trans, std::min<int64_t>(NR, nc - q0), kc, dst, NR);
      return;
    }
#endif
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
