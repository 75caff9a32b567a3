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

#include <cstring>
#include <vector>

namespace dlc_rt {

namespace conv_direct {

constexpr int kRows = 8;               // pixels per tile (forward, input gradient)
constexpr int kGradRows = 16;          // (i, j, ch) rows per tile of the filter gradient
constexpr int64_t kMaxChannels = 256;  // a padded read is one channel run of zeros
constexpr int64_t kMaxRowDepth = 1024; // kw * c of the CW kernels' forward (a stack table)

inline const float* zeros() {
  alignas(64) static const float z[kMaxChannels] = {};
  return z;
}

// Whether the options and the CPU let the direct (AVX-512) kernels run.
inline bool avx512_allowed(const GemmOptions& opt) {
#ifdef DLC_RT_HAVE_AVX512
  return opt.kernel != GemmKernel::portable && avx512_usable();
#else
  (void)opt;
  return false;
#endif
}

// Whether the direct kernels take a convolution: AVX-512, few filters, channel runs that
// fit the zero block, and (forward) a depth of one KC block, which keeps the GEMM's
// order of summation.
inline bool usable(const Conv2dGeom& g, bool forward, const GemmOptions& opt) {
  return avx512_allowed(opt) && g.f <= 16 && g.c <= kMaxChannels &&
         (!forward || g.kh * g.kw * g.c <= kGemmKC);
}

// The input gradient's direct kernel: stride 1, few input channels.
inline bool usable_input_grad(const Conv2dGeom& g, const GemmOptions& opt) {
  return avx512_allowed(opt) && g.c <= 16 && g.f <= kMaxChannels && g.sh == 1 && g.sw == 1;
}

// Scratch memory of one call, carved from the caller's workspace: generated code passes
// its planned workspace of conv2d_workspace_floats(g) floats (conv2d.h), so that no
// kernel allocates; a null workspace takes a per-thread buffer grown once. Pieces are
// 64-byte aligned. The calling thread owns it; the pool's workers read it during the call.
class Scratch {
public:
  Scratch(float* ws, int64_t floats) : base_(ws) {
    if (!base_) {
      thread_local std::vector<float> buffer;
      if (buffer.size() < size_t(floats + 16)) buffer.resize(size_t(floats + 16));
      base_ = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buffer.data()) + 63) &
                                       ~uintptr_t(63));
    }
  }
  float* take(int64_t floats) {
    float* p = base_ + used_;
    used_ += round(floats);
    return p;
  }
  static int64_t round(int64_t floats) { return (floats + 15) / 16 * 16; }

private:
  float* base_;
  int64_t used_ = 0;
};

// The filter [kh, kw, c, f] as [kh, kw, f, c], into out.
inline const float* filter_fc(const Conv2dGeom& g, const float* w, float* out) {
  int64_t taps = g.kh * g.kw;
  for (int64_t t = 0; t < taps; t++)
    for (int64_t ch = 0; ch < g.c; ch++)
      for (int64_t fo = 0; fo < g.f; fo++)
        out[(t * g.f + fo) * g.c + ch] = w[(t * g.c + ch) * g.f + fo];
  return out;
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

// An NHWC tensor [n, h, w, c] with its zero padding written out and each row transposed
// to channel-major ("CW" rows): out[((b * (h + pt + pb) + y) * c + ch) * width + x],
// width >= w + pl + pr (the columns past the right padding are zero too); written by the
// calling thread, read by every thread of one call. The kernels below then read every tap
// without bounds checks (padding terms stay +0 products, as in the implicit GEMM), and one
// channel's neighbouring pixels are adjacent floats.
inline int64_t padded_cw_floats(int64_t n, int64_t h, int64_t c, int64_t pt, int64_t pb,
                                int64_t width) {
  return n * (h + pt + pb) * c * width;
}
#ifdef DLC_RT_HAVE_AVX512
// dst[ch * stride + ix] = src[ix * c + ch] for ix < w, ch < c <= 16: blocks of 16 pixels
// through the GEMM packer's 16x16 register transpose (a gather per channel instead made
// conv2's input gradient ~4% slower); one channel is a copy.
DLC_RT_TARGET_AVX512 inline void transpose_row_avx512(const float* src, int64_t w, int64_t c,
                                                      float* dst, int64_t stride) {
  if (c == 1) {
    for (int64_t ix = 0; ix < w; ix += 16) {
      const __mmask16 m = simd::lanes(w - ix);
      _mm512_mask_storeu_ps(dst + ix, m, _mm512_maskz_loadu_ps(m, src + ix));
    }
    return;
  }
  for (int64_t ix = 0; ix < w; ix += 16) {
    const int64_t n = std::min<int64_t>(16, w - ix);
    pack_detail::transpose_rows(src + ix * c, c, n, c, dst + ix, stride, int(n));
  }
}
#endif

inline const float* padded_cw(const float* x, int64_t n, int64_t h, int64_t w, int64_t c,
                              int64_t pt, int64_t pb, int64_t pl, int64_t width, float* out,
                              const GemmOptions& opt) {
  const int64_t ph = h + pt + pb, row = c * width; // floats per padded CW row
  // Images split across the pool (a copy: worth it from ~100K floats on).
  split(n, 16 * n * ph * row, opt, [&](TaskRange images) {
    for (int64_t b = images.begin; b < images.end; b++) {
      float* image = out + b * ph * row;
      // The padding rows and columns in one pass over the image (per-run fills of a few
      // floats each cost more), then the pixels over it.
      std::fill(image, image + ph * row, 0.0f);
      for (int64_t iy = 0; iy < h; iy++) {
        const float* src = x + (b * h + iy) * w * c;
        float* dst = image + (iy + pt) * row;
#ifdef DLC_RT_HAVE_AVX512
        if (c <= 16 && avx512_usable()) {
          transpose_row_avx512(src, w, c, dst + pl, width);
          continue;
        }
#endif
        if (c == 1) {
          std::copy(src, src + w, dst + pl);
          continue;
        }
        for (int64_t ix = 0; ix < w; ix++)
          for (int64_t ch = 0; ch < c; ch++)
            dst[ch * width + pl + ix] = src[ix * c + ch];
      }
    }
  });
  return out;
}

// Pixels per vector for `channels` output channels in {4, 8, 16} (else 0): the "CW"
// kernels below put P = 16/channels neighbouring pixels of a row in one vector with their
// channels, lane l = (channel l/P, pixel l%P). The P inputs one tap and one input channel
// read for those pixels are adjacent floats in CW rows (stride 1 across), so one
// broadcast of P floats (vbroadcastss/sd/f32x4) feeds 16 products and no lane idles.
inline int pixels_per_vector(int64_t channels) {
  return channels == 16 ? 1 : channels == 8 ? 2 : channels == 4 ? 4 : 0;
}

#ifdef DLC_RT_HAVE_AVX512
// Forward, output rows (b, oy) in [rows.begin, rows.end): 8 pixels of a row per tile.
DLC_RT_TARGET_AVX512 inline void forward_rows(const Conv2dGeom& g, const float* x, const float* w,
                                              float* y, const Epilogue& ep, TaskRange rows) {
  const int64_t oh = g.oh(), ow = g.ow(), f = g.f;
  const __mmask16 mask = simd::lanes(f);
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
      gemm_detail::store_avx512<16>(acc_out, y + ((b * oh + oy) * ow + ox0) * f, f, count, f, 1.0f,
                                    0.0f, &ep);
    }
  }
}

// Adds the tile's sums (8 rows of c) to out (beta: what the old values count), restarts them.
DLC_RT_TARGET_AVX512 inline void flush(__m512* acc, float* acc_out, float* out, int64_t c,
                                       int64_t count, float beta) {
  DLC_RT_UNROLL
  for (int r = 0; r < kRows; r++)
    _mm512_store_ps(acc_out + 16 * r, acc[r]);
  gemm_detail::store_avx512<16>(acc_out, out, c, count, c, 1.0f, beta, nullptr);
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
  const __mmask16 mask = simd::lanes(c);
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
  const __mmask16 mask = simd::lanes(f);
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
      gemm_detail::store_avx512<16>(acc_out, dw + row0 * f, f, count, f, 1.0f,
                                    q0 == 0 ? beta : 1.0f, nullptr);
    }
  }
}

// P adjacent floats from q, repeated over the 16 lanes (lane l gets q[l % P]).
template <int P> DLC_RT_TARGET_AVX512 inline __m512 broadcast_group(const float* q) {
  if constexpr (P == 1)
    return _mm512_set1_ps(*q);
  else if constexpr (P == 2) {
    double d;
    std::memcpy(&d, q, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
  } else
    return _mm512_maskz_broadcast_f32x4(0xFFFF, _mm_loadu_ps(q));
}

// Lane l = (channel k = l/P, pixel e = l%P) <-> memory order (pixel e, channel k).
template <int P> DLC_RT_TARGET_AVX512 inline __m512i lanes_to_pixels() {
  alignas(64) int32_t idx[16];
  for (int e = 0; e < P; e++)
    for (int k = 0; k < 16 / P; k++)
      idx[e * (16 / P) + k] = k * P + e;
  return _mm512_load_si512(idx);
}
template <int P> DLC_RT_TARGET_AVX512 inline __m512i pixels_to_lanes() {
  alignas(64) int32_t idx[16];
  for (int e = 0; e < P; e++)
    for (int k = 0; k < 16 / P; k++)
      idx[k * P + e] = e * (16 / P) + k;
  return _mm512_load_si512(idx);
}

// Forward over CW rows (P = pixels_per_vector(g.f), stride 1 across), output rows (b, oy)
// in `rows`: R vectors (P*R pixels of a row) per tile. xt: padded_cw(x) of `width`
// columns; wd: 16 floats per depth index (i, j, ch), lane l holding w[i, j, ch, l/P] (for
// P = 1 the filter itself). Each output sums its depth with one FMA per term from zero,
// in (i, j, ch) order, or (i, ch, j) when the filter's width KW is a template argument
// (KW = 0: any width); the store then does what the GEMM path's does: acc + beta*y
// (beta = 0: y not read), plus the bias, then the activation.
//
// With KW known, one broadcast serves every tap that reads it: vector r's tap j reads the
// inputs at P*r + j, so for each (i, ch) the P*(R-1) + KW broadcasts at q = 0, 1, ... feed
// the FMAs of every (r, j) with P*r + j = q, and the KW filter vectors stay in registers.
// That is 18 (P = 1) to 31 (P = 2) loads for R*KW = 70 FMAs at R = 14 and KW = 5, where
// one broadcast per FMA made the loads, not the FMAs, the bound.
template <int P, int R, int KW>
DLC_RT_TARGET_AVX512 inline void forward_cw_rows(const Conv2dGeom& g, const float* xt,
                                                 int64_t width, const float* wd, float beta,
                                                 const Epilogue& ep, float* y, TaskRange rows) {
  constexpr int F = 16 / P;
  const int64_t oh = g.oh(), ow = g.ow(), ph = g.h + g.pt + g.pb, c = g.c, taps_row = g.kw * c;
  const __m512i order = lanes_to_pixels<P>();
  int64_t offsets[kMaxRowDepth]; // where depth index (j, ch) of a tap row starts (KW = 0)
  if constexpr (KW == 0)
    for (int64_t j = 0; j < g.kw; j++)
      for (int64_t ch = 0; ch < c; ch++)
        offsets[j * c + ch] = ch * width + j;
  alignas(64) float bias[16] = {};
  if (ep.bias)
    for (int l = 0; l < 16; l++)
      bias[l] = ep.bias[l % F]; // pixel-major: the f biases once per pixel
  const __m512 vbias = _mm512_load_ps(bias), vbeta = _mm512_set1_ps(beta);
  for (int64_t row = rows.begin; row < rows.end; row++) {
    int64_t b = row / oh, oy = row % oh;
    const float* base = xt + (b * ph + oy * g.sh) * c * width;
    for (int64_t ox0 = 0; ox0 < ow; ox0 += P * R) {
      __m512 acc[R];
      DLC_RT_UNROLL
      for (int r = 0; r < R; r++)
        acc[r] = _mm512_setzero_ps();
      if constexpr (KW > 0) {
        for (int64_t i = 0; i < g.kh; i++)
          for (int64_t ch = 0; ch < c; ch++) {
            const float* src = base + (i * c + ch) * width + ox0;
            const float* wt = wd + (i * KW * c + ch) * 16; // depth index (i, j, ch), j = 0
            __m512 w[KW];
            DLC_RT_UNROLL
            for (int j = 0; j < KW; j++)
              w[j] = _mm512_loadu_ps(wt + j * c * 16);
            DLC_RT_UNROLL
            for (int q = 0; q < P * (R - 1) + KW; q++) {
              __m512 v = broadcast_group<P>(src + q);
              DLC_RT_UNROLL
              for (int j = 0; j < KW; j++)
                if (q >= j && (q - j) % P == 0 && (q - j) / P < R)
                  acc[(q - j) / P] = _mm512_fmadd_ps(v, w[j], acc[(q - j) / P]);
            }
          }
      } else {
        const float* wq = wd;
        for (int64_t i = 0; i < g.kh; i++) {
          const float* row_i = base + i * c * width + ox0;
          for (int64_t t = 0; t < taps_row; t++, wq += 16) {
            const float* src = row_i + offsets[t];
            __m512 v = _mm512_loadu_ps(wq);
            DLC_RT_UNROLL
            for (int r = 0; r < R; r++)
              acc[r] = _mm512_fmadd_ps(broadcast_group<P>(src + r * P), v, acc[r]);
          }
        }
      }
      float* out = y + ((b * oh + oy) * ow + ox0) * F;
      DLC_RT_UNROLL
      for (int r = 0; r < R; r++) {
        int64_t left = ow - ox0 - r * P; // pixels of this vector inside the row
        if (left <= 0) break;
        const __mmask16 m = simd::lanes(left * F);
        float* o = out + r * P * F;
        __m512 v = _mm512_maskz_permutexvar_ps(0xFFFF, order, acc[r]);
        if (beta != 0.0f) v = _mm512_add_ps(v, _mm512_mul_ps(vbeta, _mm512_maskz_loadu_ps(m, o)));
        if (ep.bias) v = _mm512_add_ps(v, vbias);
        _mm512_mask_storeu_ps(o, m, simd::activate(ep.act, v, ep.slope));
      }
    }
  }
}

// Filter gradient over CW rows (P = pixels_per_vector(g.f), kh x kw = KH x KW, stride 1
// across). Work unit u = (block q of output rows, input channel ch): it sums the block's
// pixels into part[u][tap][16] (lane (filter, pixel l%P)) from zero, one FMA per term in
// pixel order. sum_blocks adds the blocks in order, so no sum depends on which thread ran
// which unit.
template <int P, int KH, int KW>
DLC_RT_TARGET_AVX512 inline void
filter_grad_cw_units(const Conv2dGeom& g, const float* xt, int64_t width, const float* dy,
                     int64_t rows_per_block, float* part, TaskRange units) {
  constexpr int F = 16 / P, T = KH * KW;
  const int64_t oh = g.oh(), ow = g.ow(), ph = g.h + g.pt + g.pb, n_rows = g.n * oh, c = g.c;
  const __m512i order = pixels_to_lanes<P>();
  for (int64_t u = units.begin; u < units.end; u++) {
    const int64_t q = u / c, ch = u % c;
    __m512 acc[T];
    DLC_RT_UNROLL
    for (int t = 0; t < T; t++)
      acc[t] = _mm512_setzero_ps();
    int64_t r1 = std::min(n_rows, (q + 1) * rows_per_block);
    for (int64_t row = q * rows_per_block; row < r1; row++) {
      int64_t b = row / oh, oy = row % oh;
      const float* base = xt + ((b * ph + oy * g.sh) * c + ch) * width;
      const float* grad = dy + (b * oh + oy) * ow * F;
      for (int64_t ox0 = 0; ox0 < ow; ox0 += P) {
        __m512 d = _mm512_maskz_permutexvar_ps(
            0xFFFF, order, _mm512_maskz_loadu_ps(simd::lanes((ow - ox0) * F), grad + ox0 * F));
        DLC_RT_UNROLL
        for (int i = 0; i < KH; i++)
          DLC_RT_UNROLL
        for (int j = 0; j < KW; j++)
          acc[i * KW + j] = _mm512_fmadd_ps(broadcast_group<P>(base + i * c * width + ox0 + j), d,
                                            acc[i * KW + j]);
      }
    }
    DLC_RT_UNROLL
    for (int t = 0; t < T; t++)
      _mm512_storeu_ps(part + (u * T + t) * 16, acc[t]);
  }
}

// dw[(tap, ch), filter] = beta*dw + the blocks' sums, added block by block, then over the
// filter's P pixel lanes.
DLC_RT_TARGET_AVX512 inline void sum_blocks(const float* part, int64_t blocks, int64_t c,
                                            int64_t taps, int P, float* dw, float beta) {
  const int F = 16 / P;
  alignas(64) float lane_sums[16];
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t t = 0; t < taps; t++) {
      __m512 s = _mm512_loadu_ps(part + (ch * taps + t) * 16);
      for (int64_t q = 1; q < blocks; q++)
        s = _mm512_add_ps(s, _mm512_loadu_ps(part + ((q * c + ch) * taps + t) * 16));
      _mm512_store_ps(lane_sums, s);
      for (int k = 0; k < F; k++) {
        float v = lane_sums[k * P];
        for (int e = 1; e < P; e++)
          v += lane_sums[k * P + e];
        float& o = dw[(t * c + ch) * F + k];
        o = beta == 0.0f ? v : v + beta * o;
      }
    }
}
#endif

// The CW forward's tiling: R in {4, 7, 8, 14} vectors (the least that covers a row, else
// 14) and the padded row width that every tile reads inside of.
struct CwTiles {
  int64_t r, width;
};
inline CwTiles cw_tiles(const Conv2dGeom& g, int p) {
  const int64_t vecs = (g.ow() + p - 1) / p;
  const int64_t r = vecs <= 4 ? 4 : vecs <= 7 ? 7 : vecs <= 8 ? 8 : 14;
  return {r, (vecs + r - 1) / r * r * p + g.kw - 1};
}

// Scratch floats of the CW passes (Scratch pieces round up to 16 floats each).
inline int64_t forward_cw_floats(const Conv2dGeom& g) {
  CwTiles t = cw_tiles(g, pixels_per_vector(g.f));
  return Scratch::round(padded_cw_floats(g.n, g.h, g.c, g.pt, g.pb, t.width)) +
         Scratch::round(g.kh * g.kw * g.c * 16);
}
inline int64_t filter_grad_cw_blocks(const Conv2dGeom& g, int64_t* per_block = nullptr) {
  int64_t rows = g.n * g.oh(), each = std::max<int64_t>(1, 1024 / g.ow());
  if (per_block) *per_block = each;
  return (rows + each - 1) / each;
}
inline int64_t filter_grad_cw_width(const Conv2dGeom& g) {
  int p = pixels_per_vector(g.f);
  return (g.ow() + p - 1) / p * p + g.kw - 1;
}
inline int64_t filter_grad_cw_floats(const Conv2dGeom& g) {
  return Scratch::round(padded_cw_floats(g.n, g.h, g.c, g.pt, g.pb, filter_grad_cw_width(g))) +
         Scratch::round(filter_grad_cw_blocks(g) * g.c * g.kh * g.kw * 16);
}

// 5x5 and 3x3 filters get their own loops on rows of 7 or 14 vectors (each instance is a
// few KB of unrolled code in every program that embeds the runtime: narrower rows keep
// the loop over any width).
#ifdef DLC_RT_HAVE_AVX512
template <int P, int R>
inline void forward_cw_rows_any_kw(const Conv2dGeom& g, const float* xt, int64_t width,
                                   const float* wd, float beta, const Epilogue& ep, float* y,
                                   TaskRange rows) {
  if (g.kw == 5)
    forward_cw_rows<P, R, 5>(g, xt, width, wd, beta, ep, y, rows);
  else if (g.kw == 3)
    forward_cw_rows<P, R, 3>(g, xt, width, wd, beta, ep, y, rows);
  else
    forward_cw_rows<P, R, 0>(g, xt, width, wd, beta, ep, y, rows);
}
#endif

// forward_cw_rows for a whole call: the input padded once, the rows split across the
// pool. wt: the filter as [kh, kw, c, f]; scratch: forward_cw_floats(g) floats.
template <int P>
inline void forward_cw(const Conv2dGeom& g, const float* x, const float* wt, float beta, float* y,
                       const Epilogue& ep, const GemmOptions& opt, Scratch& scratch) {
#ifdef DLC_RT_HAVE_AVX512
  const int64_t depth = g.kh * g.kw * g.c;
  const CwTiles tiles = cw_tiles(g, P);
  const int64_t width = tiles.width;
  const float* xt =
      padded_cw(x, g.n, g.h, g.w, g.c, g.pt, g.pb, g.pl, width,
                scratch.take(padded_cw_floats(g.n, g.h, g.c, g.pt, g.pb, width)), opt);
  const float* wd = wt; // one pixel per vector: the filter is its own spread
  if constexpr (P > 1) {
    float* spread = scratch.take(depth * 16);
    for (int64_t d = 0; d < depth; d++)
      for (int l = 0; l < 16; l++)
        spread[d * 16 + l] = wt[d * (16 / P) + l / P];
    wd = spread;
  }
  split(g.n * g.oh(), 2 * g.n * g.oh() * g.ow() * depth * g.f, opt, [&](TaskRange rows) {
    if (tiles.r == 4)
      forward_cw_rows<P, 4, 0>(g, xt, width, wd, beta, ep, y, rows);
    else if (tiles.r == 7)
      forward_cw_rows_any_kw<P, 7>(g, xt, width, wd, beta, ep, y, rows);
    else if (tiles.r == 8)
      forward_cw_rows<P, 8, 0>(g, xt, width, wd, beta, ep, y, rows);
    else
      forward_cw_rows_any_kw<P, 14>(g, xt, width, wd, beta, ep, y, rows);
  });
#else
  (void)g, (void)x, (void)wt, (void)beta, (void)y, (void)ep, (void)opt, (void)scratch;
#endif
}

inline void forward_cw_any(const Conv2dGeom& g, const float* x, const float* wt, float beta,
                           float* y, const Epilogue& ep, const GemmOptions& opt, Scratch& scratch) {
  switch (pixels_per_vector(g.f)) {
  case 1:
    return forward_cw<1>(g, x, wt, beta, y, ep, opt, scratch);
  case 2:
    return forward_cw<2>(g, x, wt, beta, y, ep, opt, scratch);
  default:
    return forward_cw<4>(g, x, wt, beta, y, ep, opt, scratch);
  }
}

inline void forward_cw_call(const Conv2dGeom& g, const float* x, const float* wt, float* y,
                            const Epilogue& ep, const GemmOptions& opt) {
  Scratch scratch(opt.workspace, forward_cw_floats(g));
  forward_cw_any(g, x, wt, 0.0f, y, ep, opt, scratch);
}

// filter_grad_cw_units for a whole call: blocks of about 1024 pixels (a fixed split, so
// every thread count gives the same sums), their sums in the scratch.
template <int P, int K>
inline void filter_grad_cw(const Conv2dGeom& g, const float* x, const float* dy, float* dw,
                           float beta, const GemmOptions& opt) {
#ifdef DLC_RT_HAVE_AVX512
  Scratch scratch(opt.workspace, filter_grad_cw_floats(g));
  const int64_t width = filter_grad_cw_width(g);
  const float* xt =
      padded_cw(x, g.n, g.h, g.w, g.c, g.pt, g.pb, g.pl, width,
                scratch.take(padded_cw_floats(g.n, g.h, g.c, g.pt, g.pb, width)), opt);
  int64_t per_block = 0;
  const int64_t blocks = filter_grad_cw_blocks(g, &per_block);
  float* pp = scratch.take(blocks * g.c * K * K * 16);
  split(blocks * g.c, 2 * g.n * g.oh() * g.ow() * K * K * g.c * g.f, opt, [&](TaskRange units) {
    filter_grad_cw_units<P, K, K>(g, xt, width, dy, per_block, pp, units);
  });
  sum_blocks(pp, blocks, g.c, K * K, P, dw, beta);
#else
  (void)g, (void)x, (void)dy, (void)dw, (void)beta, (void)opt;
#endif
}

inline void filter_grad_cw_any(const Conv2dGeom& g, const float* x, const float* dy, float* dw,
                               float beta, const GemmOptions& opt) {
  int p = pixels_per_vector(g.f);
  if (g.kh == 3) {
    if (p == 1) return filter_grad_cw<1, 3>(g, x, dy, dw, beta, opt);
    if (p == 2) return filter_grad_cw<2, 3>(g, x, dy, dw, beta, opt);
    return filter_grad_cw<4, 3>(g, x, dy, dw, beta, opt);
  }
  if (p == 1) return filter_grad_cw<1, 5>(g, x, dy, dw, beta, opt);
  if (p == 2) return filter_grad_cw<2, 5>(g, x, dy, dw, beta, opt);
  return filter_grad_cw<4, 5>(g, x, dy, dw, beta, opt);
}

// The input gradient as a forward convolution over dy (stride 1): dx[iy, ix, ch] sums
// dy[iy + pt - i, ix + pl - j, fo] * w[i, j, ch, fo], i.e. dy padded by kh-1-pt (top)
// etc. correlated with the filter flipped in (i, j) and transposed to [kh, kw, f, c].
inline Conv2dGeom input_grad_as_forward(const Conv2dGeom& g) {
  return {g.n,
          g.oh(),
          g.ow(),
          g.f,
          g.kh,
          g.kw,
          g.c,
          1,
          1,
          g.kh - 1 - g.pt,
          g.kh - 1 - g.pb,
          g.kw - 1 - g.pl,
          g.kw - 1 - g.pr};
}
inline int64_t input_grad_cw_floats(const Conv2dGeom& g) {
  return Scratch::round(g.kh * g.kw * g.f * g.c) + forward_cw_floats(input_grad_as_forward(g));
}

inline void input_grad_cw(const Conv2dGeom& g, const float* dy, const float* w, float* dx,
                          float beta, const GemmOptions& opt) {
  Scratch scratch(opt.workspace, input_grad_cw_floats(g));
  float* flipped = scratch.take(g.kh * g.kw * g.f * g.c);
  for (int64_t i = 0; i < g.kh; i++)
    for (int64_t j = 0; j < g.kw; j++)
      for (int64_t fo = 0; fo < g.f; fo++)
        for (int64_t ch = 0; ch < g.c; ch++)
          flipped[((i * g.kw + j) * g.f + fo) * g.c + ch] =
              w[(((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.c + ch) * g.f + fo];
  forward_cw_any(input_grad_as_forward(g), dy, flipped, beta, dx, {}, opt, scratch);
}

// Which CW kernels take a convolution: AVX-512, stride 1 across, 4/8/16 output channels of
// the pass; the filter gradient only 3x3 and 5x5 (its taps live in registers), the input
// gradient stride 1 both ways with padding below the window.
inline bool cw_forward_shape(const Conv2dGeom& g) {
  return g.sw == 1 && pixels_per_vector(g.f) > 0 && g.kw * g.c <= kMaxRowDepth;
}
inline bool cw_filter_grad_shape(const Conv2dGeom& g) {
  return cw_forward_shape(g) && g.kh == g.kw && (g.kh == 3 || g.kh == 5);
}
inline bool cw_input_grad_shape(const Conv2dGeom& g) {
  return g.sh == 1 && g.sw == 1 && pixels_per_vector(g.c) > 0 && g.pt < g.kh && g.pb < g.kh &&
         g.pl < g.kw && g.pr < g.kw && g.kw * g.f <= kMaxRowDepth;
}
inline bool cw_forward_usable(const Conv2dGeom& g, const GemmOptions& opt) {
  return avx512_allowed(opt) && cw_forward_shape(g);
}
inline bool cw_filter_grad_usable(const Conv2dGeom& g, const GemmOptions& opt) {
  return avx512_allowed(opt) && cw_filter_grad_shape(g);
}
inline bool cw_input_grad_usable(const Conv2dGeom& g, const GemmOptions& opt) {
  return avx512_allowed(opt) && cw_input_grad_shape(g);
}

} // namespace conv_direct
} // namespace dlc_rt
