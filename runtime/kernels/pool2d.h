// Max and average pooling over NHWC activations, forward and backward (semantics of
// ir/ops/window.cpp). Padded positions never take part: max pooling ignores them, average
// pooling divides by the number of real elements in each window. Loops run over channels
// innermost, which is contiguous in NHWC, so they vectorise.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/common.h"

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
  for (int64_t i = 0; i < size; i++) dx[i] = beta == 0.0f ? 0.0f : beta * dx[i];
}

constexpr int64_t kChannelBlock = 64; // channels whose running argmax lives on the stack

} // namespace pool_detail

inline void max_pool2d_forward(const Pool2dGeom& g, const float* x, float* y) {
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow();
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        pool_detail::Clip w = pool_detail::clip(g, oy, ox);
        float* DLC_RT_RESTRICT out = y + ((b * oh + oy) * ow + ox) * g.c;
        for (int64_t ch = 0; ch < g.c; ch++) out[ch] = -std::numeric_limits<float>::infinity();
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++) {
            const float* DLC_RT_RESTRICT in = x + ((b * g.h + iy) * g.w + ix) * g.c;
            DLC_RT_IVDEP
            for (int64_t ch = 0; ch < g.c; ch++) out[ch] = in[ch] > out[ch] ? in[ch] : out[ch];
          }
      }
}

// dx = beta*dx + routed dy: each output's gradient goes to the first maximum of its window
// in row-major window order (the argmax is recomputed from x, nothing is stored).
inline void max_pool2d_backward(const Pool2dGeom& g, const float* x, const float* dy, float* dx,
                                float beta = 0.0f) {
  enable_ftz();
  using pool_detail::kChannelBlock;
  const int64_t oh = g.oh(), ow = g.ow();
  pool_detail::scale_grad(dx, g.n * g.h * g.w * g.c, beta);
  float best[kChannelBlock];
  int64_t where[kChannelBlock];
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        pool_detail::Clip w = pool_detail::clip(g, oy, ox);
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

inline void avg_pool2d_forward(const Pool2dGeom& g, const float* x, float* y) {
  enable_ftz();
  const int64_t oh = g.oh(), ow = g.ow();
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        pool_detail::Clip w = pool_detail::clip(g, oy, ox);
        float* DLC_RT_RESTRICT out = y + ((b * oh + oy) * ow + ox) * g.c;
        for (int64_t ch = 0; ch < g.c; ch++) out[ch] = 0.0f;
        for (int64_t iy = w.y0; iy < w.y1; iy++)
          for (int64_t ix = w.x0; ix < w.x1; ix++) {
            const float* DLC_RT_RESTRICT in = x + ((b * g.h + iy) * g.w + ix) * g.c;
            DLC_RT_IVDEP
            for (int64_t ch = 0; ch < g.c; ch++) out[ch] += in[ch];
          }
        float inv = w.count() > 0 ? 1.0f / float(w.count()) : 0.0f;
        for (int64_t ch = 0; ch < g.c; ch++) out[ch] *= inv;
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
            for (int64_t ch = 0; ch < g.c; ch++) out[ch] += grad[ch] * inv;
          }
      }
}

} // namespace dlc_rt
