// Depthwise 2-D convolution (Keras's DepthwiseConv2D; semantics: ir/ops/window.cpp) and
// its two gradients. Input [n, h, w, c] NHWC, filter [kh, kw, c, m] (m: the depth
// multiplier), output [n, oh, ow, c m]: output channel ch m + k is input channel ch alone
// filtered by w[., ., ch, k]. The geometry is Conv2dGeom with f = m.
//
// A filter tap w[i, j] is laid out like an output pixel's c m channels, so every inner
// loop runs over those channels, contiguous in NHWC, and vectorises. Work is split across
// the kernel pool so that each output element is computed by one thread in an order that
// depends only on the shapes: the forward pass by output rows, the input gradient by input
// rows (gathering from dy), the filter gradient by (tap, block of channels), each summing
// over samples and pixels in order. The same bits for any thread count, no races.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/activation.h"
#include "runtime/kernels/common.h"
#include "runtime/kernels/conv2d_geom.h"
#include "runtime/kernels/gemm_parallel.h" // parallel_range

#include <algorithm>
#include <cstdint>

namespace dlc_rt {

namespace depthwise_detail {

constexpr int64_t kGrain = 16384;       // multiply-adds per part, at least
constexpr int64_t kChannelBlock = 64;   // input channels of one part of the filter gradient

// How many units of `unit_work` multiply-adds make a part of parallel_range.
inline int64_t grain(int64_t unit_work) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(unit_work, 1)); }

// acc[ch m + k] += a[ch] * b[ch m + k] for c channels: one tap of the forward pass (a: an
// input pixel, b: the tap's weights) or of the filter gradient (a: an input pixel, b: dy).
inline void spread_madd(const float* DLC_RT_RESTRICT a, const float* DLC_RT_RESTRICT b, float* DLC_RT_RESTRICT acc,
                        int64_t c, int64_t m) {
  if (m == 1) {
    DLC_RT_IVDEP
    for (int64_t ch = 0; ch < c; ch++) acc[ch] += a[ch] * b[ch];
    return;
  }
  for (int64_t ch = 0; ch < c; ch++) {
    float v = a[ch];
    for (int64_t k = 0; k < m; k++) acc[ch * m + k] += v * b[ch * m + k];
  }
}

// acc[ch] += sum_k dy[ch m + k] * wt[ch m + k]: one tap of the input gradient.
inline void gather_madd(const float* DLC_RT_RESTRICT dy, const float* DLC_RT_RESTRICT wt, float* DLC_RT_RESTRICT acc,
                        int64_t c, int64_t m) {
  if (m == 1) return spread_madd(dy, wt, acc, c, 1); // the same products
  for (int64_t ch = 0; ch < c; ch++) {
    float s = 0;
    for (int64_t k = 0; k < m; k++) s += dy[ch * m + k] * wt[ch * m + k];
    acc[ch] += s;
  }
}

// The output position that input position `in` is tap `t` of along one axis (stride s,
// padding p before), or -1 when none is.
inline int64_t source(int64_t in, int64_t t, int64_t s, int64_t p, int64_t out_extent) {
  int64_t u = in + p - t;
  if (u < 0 || u % s != 0 || u / s >= out_extent) return -1;
  return u / s;
}

} // namespace depthwise_detail

// y = act(depthwise_conv2d(x, w) + bias[c m]); bias may be null.
inline void depthwise_conv2d_forward(const Conv2dGeom& g, const float* x, const float* wt, float* y,
                                     const Epilogue& e) {
  using namespace depthwise_detail;
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow(), cm = g.c * g.f;
  parallel_range(g.n * oh, grain(ow * cm * g.kh * g.kw), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; row++) {
      const int64_t b = row / oh, oy = row % oh;
      float* out_row = y + row * ow * cm;
      for (int64_t ox = 0; ox < ow; ox++) {
        float* acc = out_row + ox * cm;
        std::fill(acc, acc + cm, 0.0f);
        for (int64_t i = 0; i < g.kh; i++) {
          int64_t iy = oy * g.sh + i - g.pt;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t j = 0; j < g.kw; j++) {
            int64_t ix = ox * g.sw + j - g.pl;
            if (ix < 0 || ix >= g.w) continue;
            spread_madd(x + ((b * g.h + iy) * g.w + ix) * g.c, wt + (i * g.kw + j) * cm, acc, g.c, g.f);
          }
        }
        if (e.bias)
          for (int64_t o = 0; o < cm; o++) acc[o] += e.bias[o];
      }
      activation_forward(e.act, out_row, out_row, ow * cm, e.slope);
    }
  });
}

// dx = the input gradient of depthwise_conv2d for dy (written, not accumulated).
inline void depthwise_conv2d_backward_input(const Conv2dGeom& g, const float* dy, const float* wt, float* dx) {
  using namespace depthwise_detail;
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow(), cm = g.c * g.f;
  parallel_range(g.n * g.h, grain(g.w * cm * g.kh * g.kw), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; row++) {
      const int64_t b = row / g.h, iy = row % g.h;
      float* out_row = dx + row * g.w * g.c;
      std::fill(out_row, out_row + g.w * g.c, 0.0f);
      for (int64_t i = 0; i < g.kh; i++) {
        int64_t oy = source(iy, i, g.sh, g.pt, oh);
        if (oy < 0) continue;
        for (int64_t ix = 0; ix < g.w; ix++)
          for (int64_t j = 0; j < g.kw; j++) {
            int64_t ox = source(ix, j, g.sw, g.pl, ow);
            if (ox < 0) continue;
            gather_madd(dy + ((b * oh + oy) * ow + ox) * cm, wt + (i * g.kw + j) * cm, out_row + ix * g.c, g.c, g.f);
          }
      }
    }
  });
}

// dw = the filter gradient of depthwise_conv2d for x and dy (written, not accumulated).
inline void depthwise_conv2d_backward_filter(const Conv2dGeom& g, const float* x, const float* dy, float* dw) {
  using namespace depthwise_detail;
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow(), cm = g.c * g.f;
  const int64_t blocks = (g.c + kChannelBlock - 1) / kChannelBlock;
  const int64_t unit_work = g.n * oh * ow * std::min(g.c, kChannelBlock) * g.f;
  parallel_range(g.kh * g.kw * blocks, grain(unit_work), [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; u++) {
      const int64_t tap = u / blocks, c0 = (u % blocks) * kChannelBlock, nc = std::min(kChannelBlock, g.c - c0);
      const int64_t i = tap / g.kw, j = tap % g.kw;
      float* acc = dw + tap * cm + c0 * g.f;
      std::fill(acc, acc + nc * g.f, 0.0f);
      for (int64_t b = 0; b < g.n; b++)
        for (int64_t oy = 0; oy < oh; oy++) {
          int64_t iy = oy * g.sh + i - g.pt;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t ox = 0; ox < ow; ox++) {
            int64_t ix = ox * g.sw + j - g.pl;
            if (ix < 0 || ix >= g.w) continue;
            spread_madd(x + ((b * g.h + iy) * g.w + ix) * g.c + c0, dy + ((b * oh + oy) * ow + ox) * cm + c0 * g.f,
                        acc, nc, g.f);
          }
        }
    }
  });
}

} // namespace dlc_rt
