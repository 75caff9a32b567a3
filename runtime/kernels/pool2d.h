// Max and average pooling over NHWC activations, forward and backward (semantics of
// ir/ops/window.cpp). Padded positions never take part: max pooling ignores them, average
// pooling divides by the number of real elements in each window. Loops run over channels
// innermost, which is contiguous in NHWC, so they vectorise; max pooling also has AVX-512
// loops (16 channels a vector, chosen at run time like the GEMM's kernel) and splits its
// output rows across the kernel pool.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/common.h"
#include "runtime/kernels/gemm_microkernel.h" // DLC_RT_HAVE_AVX512, avx512_usable()
#include "runtime/kernels/gemm_parallel.h"    // parallel_range

#include <algorithm>
#include <limits>

namespace dlc_rt {

struct Pool2dGeom {
  int64_t n, h, w, c;     // input [n, h, w, c]; n is the batch of this call
  int64_t kh, kw;         // window
  int64_t sh, sw;         // strides
  int64_t pt, pb, pl, pr; // padding: top, bottom, left, right (each smaller than the window)
  int64_t oh() const { return (h + pt + pb - kh) / sh + 1; }
  int64_t ow() const { return (w + pl + pr - kw) / sw + 1; }
};

namespace pool_detail {

// The window of output pixel (oy, ox) clipped to the input: rows [y0, y1), cols [x0, x1).
struct Clip {
  int64_t y0, y1, x0, x1;
  int64_t count() const { return (y1 - y0) * (x1 - x0); }
};
inline Clip clip(const Pool2dGeom& g, int64_t oy, int64_t ox) {
  int64_t y = oy * g.sh - g.pt, x = ox * g.sw - g.pl;
  return {std::max<int64_t>(y, 0), std::min(y + g.kh, g.h), std::max<int64_t>(x, 0),
          std::min(x + g.kw, g.w)};
}

// dx = beta*dx, where beta == 0 writes zeros without reading dx.
inline void scale_grad(float* dx, int64_t size, float beta) {
  if (beta == 1.0f) return;
  if (beta == 0.0f) {
    std::fill(dx, dx + size, 0.0f);
    return;
  }
  for (int64_t i = 0; i < size; i++)
    dx[i] = beta * dx[i];
}

constexpr int64_t kChannelBlock = 64; // channels whose running argmax lives on the stack

// Whether the windows tile the input exactly (stride = window, no padding, no remainder):
// every input element then lies in exactly one window, so the backward pass can write dx
// instead of adding to zeros, and output rows touch disjoint input rows.
inline bool tiles_input(const Pool2dGeom& g) {
  return g.sh == g.kh && g.sw == g.kw && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0 &&
         g.h == g.oh() * g.kh && g.w == g.ow() * g.kw;
}

// Runs rows(r0, r1) over the output rows (b, oy) of the pool, split across the kernel pool
// when there is enough work (`row_work` element operations per row) and `may_split`.
template <class Rows>
void over_rows(const Pool2dGeom& g, int64_t row_work, bool may_split, Rows&& rows) {
  constexpr int64_t kGrain = 16384; // element operations per part, at least
  int64_t count = g.n * g.oh();
  int64_t grain = may_split ? std::max<int64_t>(1, kGrain / std::max<int64_t>(row_work, 1)) : count;
  parallel_range(count, grain, [&](int64_t r0, int64_t r1) { rows(r0, r1); });
}

inline void max_forward_rows(const Pool2dGeom& g, const float* x, float* y, int64_t r0,
                             int64_t r1) {
  const int64_t oh = g.oh(), ow = g.ow();
  for (int64_t row = r0; row < r1; row++) {
    int64_t b = row / oh, oy = row % oh;
    for (int64_t ox = 0; ox < ow; ox++) {
      Clip w = clip(g, oy, ox);
      float* DLC_RT_RESTRICT out = y + ((b * oh + oy) * ow + ox) * g.c;
      for (int64_t ch = 0; ch < g.c; ch++)
        out[ch] = -std::numeric_limits<float>::infinity();
      for (int64_t iy = w.y0; iy < w.y1; iy++)
        for (int64_t ix = w.x0; ix < w.x1; ix++) {
          const float* DLC_RT_RESTRICT in = x + ((b * g.h + iy) * g.w + ix) * g.c;
          DLC_RT_IVDEP
          for (int64_t ch = 0; ch < g.c; ch++)
            out[ch] = in[ch] > out[ch] ? in[ch] : out[ch];
        }
    }
  }
}

// Routes each output's gradient to the first maximum of its window (row-major window
// order): dx += routed dy, or, with `assign` (tiling windows), dx = routed dy or 0.
inline void max_backward_rows(const Pool2dGeom& g, const float* x, const float* dy, float* dx,
                              bool assign, int64_t r0, int64_t r1) {
  const int64_t oh = g.oh(), ow = g.ow();
  float best[kChannelBlock];
  int64_t where[kChannelBlock];
  for (int64_t row = r0; row < r1; row++) {
    int64_t b = row / oh, oy = row % oh;
    for (int64_t ox = 0; ox < ow; ox++) {
      Clip w = clip(g, oy, ox);
      const float* grad = dy + ((b * oh + oy) * ow + ox) * g.c;
      for (int64_t c0 = 0; c0 < g.c; c0 += kChannelBlock) {
        int64_t cn = std::min(kChannelBlock, g.c - c0);
        for (int64_t ch = 0; ch < cn; ch++) {
          best[ch] = -std::numeric_limits<float>::infinity();
          where[ch] = -1;
        }
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++) {
            int64_t base = ((b * g.h + iy) * g.w + ix) * g.c + c0;
            if (assign)
              for (int64_t ch = 0; ch < cn; ch++)
                dx[base + ch] = 0.0f;
            for (int64_t ch = 0; ch < cn; ch++) {
              bool better = x[base + ch] > best[ch] || where[ch] < 0;
              best[ch] = better ? x[base + ch] : best[ch];
              where[ch] = better ? base + ch : where[ch];
            }
          }
        for (int64_t ch = 0; ch < cn; ch++)
          if (where[ch] >= 0) dx[where[ch]] += grad[c0 + ch];
      }
    }
  }
}

#ifdef DLC_RT_HAVE_AVX512
// 2x2 windows with stride 2 that tile the input (the usual pooling) over 8 channels or a
// multiple of 16 get loops with the four taps unrolled, in row-major window order as the
// general loops take them. With 8 channels one vector holds two output pixels: the two
// vectors of a window row (4 pixels) are regrouped by 256-bit halves into the pixels'
// left taps and their right taps.
inline bool unrolled_2x2(const Pool2dGeom& g) {
  return tiles_input(g) && g.kh == 2 && g.kw == 2 && (g.c == 8 || g.c % 16 == 0);
}

// Lanes 0-7 of a then of b, and lanes 8-15 of a then of b: the left and right taps of two
// pixels' window row, and back (maskz: GCC 12 warns on the plain intrinsics' undefined
// operand).
DLC_RT_TARGET_AVX512 inline __m512 low_halves(__m512 a, __m512 b) {
  return _mm512_maskz_shuffle_f32x4(0xFFFF, a, b, 0x44);
}
DLC_RT_TARGET_AVX512 inline __m512 high_halves(__m512 a, __m512 b) {
  return _mm512_maskz_shuffle_f32x4(0xFFFF, a, b, 0xEE);
}

// The maximum of one 2x2 window per lane, taken as the general loops take it: from -inf,
// in > best ? in : best tap after tap (a NaN never wins).
DLC_RT_TARGET_AVX512 inline __m512 max_2x2(__m512 t00, __m512 t01, __m512 t10, __m512 t11) {
  __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  best = _mm512_maskz_max_ps(0xFFFF, t00, best);
  best = _mm512_maskz_max_ps(0xFFFF, t01, best);
  best = _mm512_maskz_max_ps(0xFFFF, t10, best);
  return _mm512_maskz_max_ps(0xFFFF, t11, best);
}

DLC_RT_TARGET_AVX512 inline void max_forward_2x2_avx512(const Pool2dGeom& g, const float* x,
                                                        float* y, int64_t r0, int64_t r1) {
  const int64_t oh = g.oh(), ow = g.ow(), c = g.c, row = g.w * c;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t b = r / oh, oy = r % oh;
    const float* top = x + (b * g.h + 2 * oy) * row;
    const float* bottom = top + row;
    float* out = y + r * ow * c;
    if (c == 8) {
      int64_t ox = 0;
      for (; ox + 2 <= ow; ox += 2) {
        const __m512 t0 = _mm512_loadu_ps(top + ox * 16), t1 = _mm512_loadu_ps(top + ox * 16 + 16);
        const __m512 b0 = _mm512_loadu_ps(bottom + ox * 16),
                     b1 = _mm512_loadu_ps(bottom + ox * 16 + 16);
        _mm512_storeu_ps(out + ox * 8, max_2x2(low_halves(t0, t1), high_halves(t0, t1),
                                               low_halves(b0, b1), high_halves(b0, b1)));
      }
      if (ox < ow) { // an odd last pixel
        const __mmask16 m = 0xFF;
        const float *t = top + ox * 16, *d = bottom + ox * 16;
        _mm512_mask_storeu_ps(out + ox * 8, m,
                              max_2x2(_mm512_maskz_loadu_ps(m, t), _mm512_maskz_loadu_ps(m, t + 8),
                                      _mm512_maskz_loadu_ps(m, d), _mm512_maskz_loadu_ps(m, d + 8)));
      }
      continue;
    }
    for (int64_t ox = 0; ox < ow; ox++)
      for (int64_t c0 = 0; c0 < c; c0 += 16) {
        const float *t = top + 2 * ox * c + c0, *d = bottom + 2 * ox * c + c0;
        _mm512_storeu_ps(out + ox * c + c0,
                         max_2x2(_mm512_loadu_ps(t), _mm512_loadu_ps(t + c), _mm512_loadu_ps(d),
                                 _mm512_loadu_ps(d + c)));
      }
  }
}

// The same two loops over 16 channels at a time, masked at the tail: the vector max keeps
// `in > out ? in : out` exactly (NaN included), and the backward pass keeps the first
// maximum by window position.
DLC_RT_TARGET_AVX512 inline void max_forward_rows_avx512(const Pool2dGeom& g, const float* x,
                                                         float* y, int64_t r0, int64_t r1) {
  if (unrolled_2x2(g)) return max_forward_2x2_avx512(g, x, y, r0, r1);
  const int64_t oh = g.oh(), ow = g.ow();
  if (tiles_input(g) && g.c <= 16) { // windows side by side, one vector of channels: no clipping
    const __mmask16 mask = simd::lanes(g.c);
    const int64_t step = g.kw * g.c; // floats from one window to the next along a row
    for (int64_t row = r0; row < r1; row++) {
      int64_t b = row / oh, oy = row % oh;
      const float* top = x + (b * g.h + oy * g.kh) * g.w * g.c;
      float* out = y + row * ow * g.c;
      for (int64_t ox = 0; ox < ow; ox++, top += step, out += g.c) {
        __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        for (int64_t i = 0; i < g.kh; i++)
          for (int64_t j = 0; j < g.kw; j++)
            best = _mm512_maskz_max_ps(mask, _mm512_maskz_loadu_ps(mask, top + (i * g.w + j) * g.c),
                                       best);
        _mm512_mask_storeu_ps(out, mask, best);
      }
    }
    return;
  }
  for (int64_t row = r0; row < r1; row++) {
    int64_t b = row / oh, oy = row % oh;
    for (int64_t ox = 0; ox < ow; ox++) {
      Clip w = clip(g, oy, ox);
      float* out = y + ((b * oh + oy) * ow + ox) * g.c;
      for (int64_t c0 = 0; c0 < g.c; c0 += 16) {
        const __mmask16 mask = simd::lanes(g.c - c0);
        __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++)
            best =
                _mm512_maskz_max_ps( // (maskz: GCC 12 warns on _mm512_max_ps's undefined operand)
                    mask, _mm512_maskz_loadu_ps(mask, x + ((b * g.h + iy) * g.w + ix) * g.c + c0),
                    best);
        _mm512_mask_storeu_ps(out + c0, mask, best);
      }
    }
  }
}

// The gradient of one 2x2 window per lane from its four taps (row-major window order):
// the first maximum takes gv, the other taps 0, as the loops below route it.
struct Routed {
  __m512 t00, t01, t10, t11;
};
DLC_RT_TARGET_AVX512 inline Routed route_2x2(__m512 t00, __m512 t01, __m512 t10, __m512 t11,
                                             __m512 gv) {
  __m512 best = t00;
  const __mmask16 m01 = _mm512_cmp_ps_mask(t01, best, _CMP_GT_OQ);
  best = _mm512_mask_mov_ps(best, m01, t01);
  const __mmask16 m10 = _mm512_cmp_ps_mask(t10, best, _CMP_GT_OQ);
  best = _mm512_mask_mov_ps(best, m10, t10);
  const __mmask16 m11 = _mm512_cmp_ps_mask(t11, best, _CMP_GT_OQ);
  const __mmask16 w11 = m11, w10 = __mmask16(m10 & ~m11), w01 = __mmask16(m01 & ~m10 & ~m11),
                  w00 = __mmask16(~(m01 | m10 | m11));
  return {_mm512_maskz_mov_ps(w00, gv), _mm512_maskz_mov_ps(w01, gv), _mm512_maskz_mov_ps(w10, gv),
          _mm512_maskz_mov_ps(w11, gv)};
}

// max_forward_2x2_avx512's backward pass (the windows tile the input: dx is assigned).
DLC_RT_TARGET_AVX512 inline void max_backward_2x2_avx512(const Pool2dGeom& g, const float* x,
                                                         const float* dy, float* dx, int64_t r0,
                                                         int64_t r1) {
  const int64_t oh = g.oh(), ow = g.ow(), c = g.c, row = g.w * c;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t b = r / oh, oy = r % oh, top = (b * g.h + 2 * oy) * row, bottom = top + row;
    const float* grad = dy + r * ow * c;
    if (c == 8) {
      int64_t ox = 0;
      for (; ox + 2 <= ow; ox += 2) {
        const float *xt = x + top + ox * 16, *xb = x + bottom + ox * 16;
        const __m512 t0 = _mm512_loadu_ps(xt), t1 = _mm512_loadu_ps(xt + 16),
                     b0 = _mm512_loadu_ps(xb), b1 = _mm512_loadu_ps(xb + 16);
        const Routed o = route_2x2(low_halves(t0, t1), high_halves(t0, t1), low_halves(b0, b1),
                                   high_halves(b0, b1), _mm512_loadu_ps(grad + ox * 8));
        float *dt = dx + top + ox * 16, *db = dx + bottom + ox * 16;
        _mm512_storeu_ps(dt, low_halves(o.t00, o.t01));
        _mm512_storeu_ps(dt + 16, high_halves(o.t00, o.t01));
        _mm512_storeu_ps(db, low_halves(o.t10, o.t11));
        _mm512_storeu_ps(db + 16, high_halves(o.t10, o.t11));
      }
      if (ox < ow) { // an odd last pixel
        const __mmask16 m = 0xFF;
        const float *xt = x + top + ox * 16, *xb = x + bottom + ox * 16;
        const Routed o = route_2x2(_mm512_maskz_loadu_ps(m, xt), _mm512_maskz_loadu_ps(m, xt + 8),
                                   _mm512_maskz_loadu_ps(m, xb), _mm512_maskz_loadu_ps(m, xb + 8),
                                   _mm512_maskz_loadu_ps(m, grad + ox * 8));
        float *dt = dx + top + ox * 16, *db = dx + bottom + ox * 16;
        _mm512_mask_storeu_ps(dt, m, o.t00);
        _mm512_mask_storeu_ps(dt + 8, m, o.t01);
        _mm512_mask_storeu_ps(db, m, o.t10);
        _mm512_mask_storeu_ps(db + 8, m, o.t11);
      }
      continue;
    }
    for (int64_t ox = 0; ox < ow; ox++)
      for (int64_t c0 = 0; c0 < c; c0 += 16) {
        const int64_t at = 2 * ox * c + c0;
        const Routed o = route_2x2(_mm512_loadu_ps(x + top + at), _mm512_loadu_ps(x + top + at + c),
                                   _mm512_loadu_ps(x + bottom + at),
                                   _mm512_loadu_ps(x + bottom + at + c),
                                   _mm512_loadu_ps(grad + ox * c + c0));
        _mm512_storeu_ps(dx + top + at, o.t00);
        _mm512_storeu_ps(dx + top + at + c, o.t01);
        _mm512_storeu_ps(dx + bottom + at, o.t10);
        _mm512_storeu_ps(dx + bottom + at + c, o.t11);
      }
  }
}

DLC_RT_TARGET_AVX512 inline void max_backward_rows_avx512(const Pool2dGeom& g, const float* x,
                                                          const float* dy, float* dx, bool assign,
                                                          int64_t r0, int64_t r1) {
  if (assign && unrolled_2x2(g)) return max_backward_2x2_avx512(g, x, dy, dx, r0, r1);
  const int64_t oh = g.oh(), ow = g.ow();
  if (assign && g.c <= 16 && g.kh * g.kw <= 16) { // tiling windows (assign): no clipping
    const __mmask16 mask = simd::lanes(g.c);
    const int64_t step = g.kw * g.c;
    for (int64_t row = r0; row < r1; row++) {
      int64_t b = row / oh, oy = row % oh;
      const int64_t top = (b * g.h + oy * g.kh) * g.w * g.c;
      const float* grad = dy + row * ow * g.c;
      for (int64_t ox = 0; ox < ow; ox++, grad += g.c) {
        const float* in = x + top + ox * step;
        float* out = dx + top + ox * step;
        __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        __m512i where = _mm512_setzero_si512();
        int pos = 0;
        for (int64_t i = 0; i < g.kh; i++)
          for (int64_t j = 0; j < g.kw; j++, pos++) {
            __m512 v = _mm512_maskz_loadu_ps(mask, in + (i * g.w + j) * g.c);
            __mmask16 better =
                pos == 0 ? __mmask16(0xFFFF) : _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, better, v);
            where = _mm512_mask_mov_epi32(where, better, _mm512_set1_epi32(pos));
          }
        __m512 gv = _mm512_maskz_loadu_ps(mask, grad);
        pos = 0;
        for (int64_t i = 0; i < g.kh; i++)
          for (int64_t j = 0; j < g.kw; j++, pos++) {
            __mmask16 hit = _mm512_cmpeq_epi32_mask(where, _mm512_set1_epi32(pos));
            _mm512_mask_storeu_ps(out + (i * g.w + j) * g.c, mask, _mm512_maskz_mov_ps(hit, gv));
          }
      }
    }
    return;
  }
  for (int64_t row = r0; row < r1; row++) {
    int64_t b = row / oh, oy = row % oh;
    for (int64_t ox = 0; ox < ow; ox++) {
      Clip w = clip(g, oy, ox);
      const float* grad = dy + ((b * oh + oy) * ow + ox) * g.c;
      for (int64_t c0 = 0; c0 < g.c; c0 += 16) {
        const __mmask16 mask = simd::lanes(g.c - c0);
        __m512 best = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        __m512i where = _mm512_set1_epi32(-1);
        int pos = 0;
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++, pos++) {
            __m512 in = _mm512_maskz_loadu_ps(mask, x + ((b * g.h + iy) * g.w + ix) * g.c + c0);
            __mmask16 better =
                pos == 0 ? __mmask16(0xFFFF) : _mm512_cmp_ps_mask(in, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, better, in);
            where = _mm512_mask_mov_epi32(where, better, _mm512_set1_epi32(pos));
          }
        __m512 gv = _mm512_maskz_loadu_ps(mask, grad + c0);
        pos = 0;
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++, pos++) {
            float* p = dx + ((b * g.h + iy) * g.w + ix) * g.c + c0;
            __mmask16 hit = _mm512_cmpeq_epi32_mask(where, _mm512_set1_epi32(pos)) & mask;
            if (assign)
              _mm512_mask_storeu_ps(p, mask, _mm512_maskz_mov_ps(hit, gv));
            else
              _mm512_mask_storeu_ps(p, hit, _mm512_add_ps(_mm512_maskz_loadu_ps(hit, p), gv));
          }
      }
    }
  }
}
#endif

} // namespace pool_detail

inline void max_pool2d_forward(const Pool2dGeom& g, const float* x, float* y) {
  enable_ftz();
  pool_detail::over_rows(g, g.ow() * g.c * g.kh * g.kw, true, [&](int64_t r0, int64_t r1) {
#ifdef DLC_RT_HAVE_AVX512
    if (avx512_usable()) return pool_detail::max_forward_rows_avx512(g, x, y, r0, r1);
#endif
    pool_detail::max_forward_rows(g, x, y, r0, r1);
  });
}

// dx = beta*dx + routed dy: each output's gradient goes to the first maximum of its window
// in row-major window order (the argmax is recomputed from x, nothing is stored). Output
// rows split across threads only where they touch disjoint rows of dx (sh >= kh), so
// every element of dx receives its gradients in the serial order.
inline void max_pool2d_backward(const Pool2dGeom& g, const float* x, const float* dy, float* dx,
                                float beta = 0.0f) {
  enable_ftz();
  bool assign = beta == 0.0f && pool_detail::tiles_input(g);
  if (!assign) pool_detail::scale_grad(dx, g.n * g.h * g.w * g.c, beta);
  pool_detail::over_rows(
      g, 2 * g.ow() * g.c * g.kh * g.kw, g.sh >= g.kh, [&](int64_t r0, int64_t r1) {
#ifdef DLC_RT_HAVE_AVX512
        if (avx512_usable())
          return pool_detail::max_backward_rows_avx512(g, x, dy, dx, assign, r0, r1);
#endif
        pool_detail::max_backward_rows(g, x, dy, dx, assign, r0, r1);
      });
}

inline void avg_pool2d_forward(const Pool2dGeom& g, const float* x, float* y) {
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow();
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        pool_detail::Clip w = pool_detail::clip(g, oy, ox);
        float* DLC_RT_RESTRICT out = y + ((b * oh + oy) * ow + ox) * g.c;
        for (int64_t ch = 0; ch < g.c; ch++)
          out[ch] = 0.0f;
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++) {
            const float* DLC_RT_RESTRICT in = x + ((b * g.h + iy) * g.w + ix) * g.c;
            DLC_RT_IVDEP
            for (int64_t ch = 0; ch < g.c; ch++)
              out[ch] += in[ch];
          }
        float inv = w.count() > 0 ? 1.0f / float(w.count()) : 0.0f;
        for (int64_t ch = 0; ch < g.c; ch++)
          out[ch] *= inv;
      }
}

// dx = beta*dx + each output's gradient spread evenly over its window's real elements.
inline void avg_pool2d_backward(const Pool2dGeom& g, const float* dy, float* dx,
                                float beta = 0.0f) {
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow();
  pool_detail::scale_grad(dx, g.n * g.h * g.w * g.c, beta);
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        pool_detail::Clip w = pool_detail::clip(g, oy, ox);
        if (w.count() <= 0) continue;
        float inv = 1.0f / float(w.count());
        const float* DLC_RT_RESTRICT grad = dy + ((b * oh + oy) * ow + ox) * g.c;
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++) {
            float* DLC_RT_RESTRICT out = dx + ((b * g.h + iy) * g.w + ix) * g.c;
            DLC_RT_IVDEP
            for (int64_t ch = 0; ch < g.c; ch++)
              out[ch] += grad[ch] * inv;
          }
      }
}

} // namespace dlc_rt
