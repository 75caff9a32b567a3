// Direct AVX-512 convolution kernels for few filters (f <= 16), where the implicit GEMM
// (conv2d.h) wastes most of its 32-wide tiles and spends its time gathering patches into
// packed panels: the filters' f values are one masked vector, and the patch values are
// broadcast straight from the input, with padding read from a block of zeros.
//   - forward: 8 consecutive output pixels x f filters per tile, summed over (i, j, ch);
//   - filter gradient: 16 consecutive (i, j, ch) rows x f filters, summed over the pixels;
//   - input gradient (stride 1, few input channels c <= 16): 8 input pixels x c channels,
//     summed over (i, j, fo) with the filter transposed to [kh, kw, f, c] once per call.
// All sum every element in the implicit GEMM's order (depth index (i, j, ch) or pixel,
// from zero over each KC-deep block, then added to the result) with one FMA per term,
// padding included as +0 terms, so they give the GEMM path's bits; the work splits across
// the pool by output rows or filter-gradient rows, never through a sum.
#pragma once

#include "runtime/kernels/conv2d_geom.h"
#include "runtime/kernels/gemm.h"

#include <vector>

namespace dlc_rt {

namespace conv_direct {

constexpr int kRows = 8;              // pixels per tile (forward, input gradient)
constexpr int kGradRows = 16;         // (i, j, ch) rows per tile of the filter gradient
constexpr int64_t kMaxChannels = 256; // a padded read is one channel run of zeros

inline const float* zeros() {
  alignas(64) static const float z[kMaxChannels] = {};
  return z;
}

// Whether the direct kernels take a convolution: AVX-512, few filters, channel runs that
// fit the zero block, and (forward) a depth of one KC block, which keeps the GEMM's
// order of summation.
inline bool usable(const Conv2dGeom& g, bool forward, const GemmOptions& opt) {
#ifdef DLC_RT_HAVE_AVX512
  return opt.kernel != GemmKernel::portable && avx512_usable() && g.f <= 16 &&
         g.c <= kMaxChannels && (!forward || g.kh * g.kw * g.c <= kGemmKC);
#else
  (void)g, (void)forward, (void)opt;
  return false;
#endif
}

// The input gradient's direct kernel: stride 1, few input channels.
inline bool usable_input_grad(const Conv2dGeom& g, const GemmOptions& opt) {
#ifdef DLC_RT_HAVE_AVX512
  return opt.kernel != GemmKernel::portable && avx512_usable() && g.c <= 16 &&
         g.f <= kMaxChannels && g.sh == 1 && g.sw == 1;
#else
  (void)g, (void)opt;
  return false;
#endif
}

// The filter [kh, kw, c, f] as [kh, kw, f, c], in a per-thread buffer.
inline const float* filter_fc(const Conv2dGeom& g, const float* w) {
  thread_local std::vector<float> buffer;
  int64_t taps = g.kh * g.kw;
  buffer.resize(size_t(taps * g.c * g.f));
  for (int64_t t = 0; t < taps; t++)
    for (int64_t ch = 0; ch < g.c; ch++)
      for (int64_t fo = 0; fo < g.f; fo++)
        buffer[size_t((t * g.f + fo) * g.c + ch)] = w[(t * g.c + ch) * g.f + fo];
  return buffer.data();
}

// Runs part(t) for t in [0, parts) on the pool (or here), with FTZ on every thread.
template <class Part>
void split(int64_t units, int64_t flops, const GemmOptions& opt, Part&& part) {
  ThreadPool* pool = opt.pool ? opt.pool : default_kernel_pool();
  if (!pool || !pool->runs_in_parallel() || flops < kGemmParallelMinFlops) {
    part(TaskRange{0, units});
    return;
  }
  const int parts = pool->size();
  pool->parallel_for(parts, [&](int64_t t) {
    enable_ftz();
    part(split_range(units, parts, int(t)));
  });
}

#ifdef DLC_RT_HAVE_AVX512
inline __mmask16 lanes(int64_t f) {
  return __mmask16((1u << f) - 1);
}

// Forward, output rows (b, oy) in [rows.begin, rows.end): 8 pixels of a row per tile.
DLC_RT_TARGET_AVX512 inline void forward_rows(const Conv2dGeom& g, const float* x, const float* w,
                                              float* y, const Epilogue& ep, TaskRange rows) {
  const int64_t oh = g.oh(), ow = g.ow(), f = g.f;
  const __mmask16 mask = lanes(f);
  alignas(64) float acc_out[kRows * 16];
  for (int64_t row = rows.begin; row < rows.end; row++) {
    int64_t b = row / oh, oy = row % oh;
    for (int64_t ox0 = 0; ox0 < ow; ox0 += kRows) {
      int64_t count = std::min<int64_t>(kRows, ow - ox0);
      __m512 acc[kRows];
      DLC_RT_UNROLL
      for (int r = 0; r < kRows; r++)
        acc[r] = _mm512_setzero_ps();
      for (int64_t i = 0; i < g.kh; i++) {
        int64_t iy = oy * g.sh + i - g.pt;
        bool row_in = iy >= 0 && iy < g.h;
        for (int64_t j = 0; j < g.kw; j++) {
          const float* src[kRows];
          int64_t ix0 = ox0 * g.sw + j - g.pl;
          if (row_in && count == kRows && ix0 >= 0 && ix0 + (kRows - 1) * g.sw < g.w) {
            const float* p = x + ((b * g.h + iy) * g.w + ix0) * g.c; // all 8 inside
            DLC_RT_UNROLL
            for (int r = 0; r < kRows; r++)
              src[r] = p + r * g.sw * g.c;
          } else {
            for (int r = 0; r < kRows; r++) {
              int64_t ix = ix0 + r * g.sw;
              src[r] = row_in && r < count && ix >= 0 && ix < g.w
                           ? x + ((b * g.h + iy) * g.w + ix) * g.c
                           : zeros();
            }
          }
          const float* wt = w + (i * g.kw + j) * g.c * f;
          for (int64_t ch = 0; ch < g.c; ch++) {
            __m512 v = _mm512_maskz_loadu_ps(mask, wt + ch * f);
            DLC_RT_UNROLL
            for (int r = 0; r < kRows; r++)
              acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(src[r][ch]), v, acc[r]);
          }
        }
      }
      DLC_RT_UNROLL
      for (int r = 0; r < kRows; r++)
        _mm512_store_ps(acc_out + 16 * r, acc[r]);
      gemm_detail::store<16>(acc_out, y + ((b * oh + oy) * ow + ox0) * f, f, count, f, 1.0f, 0.0f,
                             &ep);
    }
  }
}

// Adds the tile's sums (8 rows of c) to out (beta: what the old values count), restarts them.
DLC_RT_TARGET_AVX512 inline void flush(__m512* acc, float* acc_out, float* out, int64_t c,
                                       int64_t count, float beta) {
  DLC_RT_UNROLL
  for (int r = 0; r < kRows; r++)
    _mm512_store_ps(acc_out + 16 * r, acc[r]);
  gemm_detail::store<16>(acc_out, out, c, count, c, 1.0f, beta, nullptr);
  DLC_RT_UNROLL
  for (int r = 0; r < kRows; r++)
    acc[r] = _mm512_setzero_ps();
}

// Input gradient (stride 1), input rows (b, iy) in [rows.begin, rows.end): 8 pixels x c
// channels per tile, summed over (i, j, fo) as the implicit GEMM's depth, flushed into dx
// at every KC boundary. wt: the filter as [kh, kw, f, c] (c contiguous).
DLC_RT_TARGET_AVX512 inline void input_grad_rows(const Conv2dGeom& g, const float* dy,
                                                 const float* wt, float* dx, float beta,
                                                 TaskRange rows) {
  const int64_t oh = g.oh(), ow = g.ow(), f = g.f, c = g.c;
  const __mmask16 mask = lanes(c);
  alignas(64) float acc_out[kRows * 16];
  for (int64_t row = rows.begin; row < rows.end; row++) {
    int64_t b = row / g.h, iy = row % g.h;
    for (int64_t ix0 = 0; ix0 < g.w; ix0 += kRows) {
      int64_t count = std::min<int64_t>(kRows, g.w - ix0), q = 0;
      float* out = dx + ((b * g.h + iy) * g.w + ix0) * c;
      __m512 acc[kRows];
      DLC_RT_UNROLL
      for (int r = 0; r < kRows; r++)
        acc[r] = _mm512_setzero_ps();
      for (int64_t i = 0; i < g.kh; i++) {
        int64_t oy = iy + g.pt - i;
        bool row_in = oy >= 0 && oy < oh;
        for (int64_t j = 0; j < g.kw; j++) {
          const float* src[kRows];
          int64_t ox0 = ix0 + g.pl - j;
          if (row_in && count == kRows && ox0 >= 0 && ox0 + kRows <= ow) { // all 8 inside
            const float* p = dy + ((b * oh + oy) * ow + ox0) * f;
            DLC_RT_UNROLL
            for (int r = 0; r < kRows; r++)
              src[r] = p + r * f;
          } else {
            for (int r = 0; r < kRows; r++) {
              int64_t ox = ox0 + r;
              src[r] = row_in && r < count && ox >= 0 && ox < ow
                           ? dy + ((b * oh + oy) * ow + ox) * f
                           : zeros();
            }
          }
          const float* wtap = wt + (i * g.kw + j) * f * c;
          for (int64_t fo = 0; fo < f; fo++, q++) {
            if (q > 0 && q % kGemmKC == 0)
              flush(acc, acc_out, out, c, count, q == kGemmKC ? beta : 1.0f);
            __m512 v = _mm512_maskz_loadu_ps(mask, wtap + fo * c);
            DLC_RT_UNROLL
            for (int r = 0; r < kRows; r++)
              acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(src[r][fo]), v, acc[r]);
          }
        }
      }
      flush(acc, acc_out, out, c, count, q <= kGemmKC ? beta : 1.0f);
    }
  }
}

// Filter gradient, rows (i, j, ch) in [16*tiles.begin, 16*tiles.end) of dw's kh*kw*c.
DLC_RT_TARGET_AVX512 inline void filter_grad_rows(const Conv2dGeom& g, const float* x,
                                                  const float* dy, float* dw, float beta,
                                                  TaskRange tiles) {
  const int64_t oh = g.oh(), ow = g.ow(), f = g.f, m = g.kh * g.kw * g.c, pixels = g.n * oh * ow;
  const __mmask16 mask = lanes(f);
  alignas(64) float acc_out[kGradRows * 16];
  for (int64_t tile = tiles.begin; tile < tiles.end; tile++) {
    int64_t row0 = tile * kGradRows, count = std::min<int64_t>(kGradRows, m - row0);
    int64_t ti[kGradRows], tj[kGradRows], tc[kGradRows],
        off[kGradRows]; // each row's tap, channel, offset
    for (int r = 0; r < kGradRows; r++) {
      int64_t k = std::min(row0 + r, m - 1), tap = k / g.c;
      ti[r] = tap / g.kw, tj[r] = tap % g.kw, tc[r] = k % g.c;
      off[r] = (ti[r] * g.w + tj[r]) * g.c + tc[r];
    }
    for (int64_t q0 = 0; q0 < pixels; q0 += kGemmKC) {
      int64_t q1 = std::min(pixels, q0 + kGemmKC);
      int64_t ox = q0 % ow, oy = q0 / ow % oh, b = q0 / (ow * oh);
      __m512 acc[kGradRows];
      DLC_RT_UNROLL
      for (int r = 0; r < kGradRows; r++)
        acc[r] = _mm512_setzero_ps();
      for (int64_t q = q0; q < q1; q++) {
        __m512 v = _mm512_maskz_loadu_ps(mask, dy + q * f);
        int64_t y0 = oy * g.sh - g.pt, x0 = ox * g.sw - g.pl;
        if (y0 >= 0 && y0 + g.kh <= g.h && x0 >= 0 && x0 + g.kw <= g.w) { // every tap inside
          const float* base = x + ((b * g.h + y0) * g.w + x0) * g.c;
          DLC_RT_UNROLL
          for (int r = 0; r < kGradRows; r++)
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(r < count ? base[off[r]] : 0.0f), v, acc[r]);
        } else {
          DLC_RT_UNROLL
          for (int r = 0; r < kGradRows; r++) {
            int64_t iy = y0 + ti[r], ix = x0 + tj[r];
            bool in = r < count && iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            float a = in ? x[((b * g.h + iy) * g.w + ix) * g.c + tc[r]] : 0.0f;
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a), v, acc[r]);
          }
        }
        if (++ox == ow) { // next output row, next image
          ox = 0;
          if (++oy == oh) oy = 0, b++;
        }
      }
      DLC_RT_UNROLL
      for (int r = 0; r < kGradRows; r++)
        _mm512_store_ps(acc_out + 16 * r, acc[r]);
      gemm_detail::store<16>(acc_out, dw + row0 * f, f, count, f, 1.0f, q0 == 0 ? beta : 1.0f,
                             nullptr);
    }
  }
}
#endif

} // namespace conv_direct
} // namespace dlc_rt
