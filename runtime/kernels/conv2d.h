// 2-D convolution, forward and both backward passes, as implicit GEMMs: the packers below
// gather im2col patches straight into the GEMM's packed panels, so no patch matrix is
// ever materialised and every pass inherits the GEMM's blocking, micro-kernels and
// determinism. Semantics are ir/ops/window.cpp's conv2d (cross-correlation):
//   y[b,oy,ox,f] = sum_{i,j,ch} x[b, oy*sh+i-pt, ox*sw+j-pl, ch] * w[i,j,ch,f]
// with activations NHWC, filters HWIO [kh,kw,c,f], zero padding outside the input.
#pragma once

#include "runtime/kernels/conv2d_direct.h"
#include "runtime/kernels/conv2d_geom.h"
#include "runtime/kernels/gemm.h"

namespace dlc_rt {

namespace conv_detail {

// Forward A operand: the patch matrix P[pixel, (i, j, ch)], pixel = (b, oy, ox).
struct PackPatches {
  const Conv2dGeom& g;
  const float* x;

  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    const int64_t oh = g.oh(), ow = g.ow();
    for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc)
      for (int64_t r = 0; r < MR; r++) {
        if (p0 + r >= mc) {
          for (int64_t kk = 0; kk < kc; kk++)
            dst[kk * MR + r] = 0.0f;
          continue;
        }
        int64_t pix = i0 + p0 + r, ox = pix % ow, oy = pix / ow % oh, b = pix / (ow * oh);
        int64_t tap = k0 / g.c, ch = k0 % g.c;
        for (int64_t kk = 0; kk < kc; tap++, ch = 0) {
          int64_t run = std::min(g.c - ch, kc - kk);
          int64_t iy = oy * g.sh + tap / g.kw - g.pt, ix = ox * g.sw + tap % g.kw - g.pl;
          float* d = dst + kk * MR + r;
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
            const float* src = x + ((b * g.h + iy) * g.w + ix) * g.c + ch;
            for (int64_t t = 0; t < run; t++)
              d[t * MR] = src[t];
          } else {
            for (int64_t t = 0; t < run; t++)
              d[t * MR] = 0.0f;
          }
          kk += run;
        }
      }
  }
};

// Filter-gradient A operand: P transposed, rows (i, j, ch), depth = pixels.
struct PackPatchesT {
  const Conv2dGeom& g;
  const float* x;

  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    const int64_t oh = g.oh(), ow = g.ow();
    for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc) {
      int64_t rows = std::min<int64_t>(MR, mc - p0);
      for (int64_t kk = 0; kk < kc; kk++) {
        int64_t pix = k0 + kk, ox = pix % ow, oy = pix / ow % oh, b = pix / (ow * oh);
        float* d = dst + kk * MR;
        int64_t tap = (i0 + p0) / g.c, ch = (i0 + p0) % g.c;
        for (int64_t r = 0; r < rows; tap++, ch = 0) {
          int64_t run = std::min(g.c - ch, rows - r);
          int64_t iy = oy * g.sh + tap / g.kw - g.pt, ix = ox * g.sw + tap % g.kw - g.pl;
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
            const float* src = x + ((b * g.h + iy) * g.w + ix) * g.c + ch;
            for (int64_t t = 0; t < run; t++)
              d[r + t] = src[t];
          } else {
            for (int64_t t = 0; t < run; t++)
              d[r + t] = 0.0f;
          }
          r += run;
        }
        for (int64_t r = rows; r < MR; r++)
          d[r] = 0.0f;
      }
    }
  }
};

// Input-gradient A operand: Q[in_pixel, (i, j, fo)] = dy[b, oy, ox, fo] where the output
// pixel (oy, ox) saw this input pixel through tap (i, j): oy*sh + i - pt == iy, etc.
struct PackOutputGrad {
  const Conv2dGeom& g;
  const float* dy;

  // The output coordinate that reads input coordinate `in` through tap offset `t`, or -1.
  static int64_t source(int64_t in, int64_t t, int64_t pad, int64_t stride, int64_t extent) {
    int64_t s = in + pad - t;
    if (s < 0 || s % stride != 0 || s / stride >= extent) return -1;
    return s / stride;
  }

  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    const int64_t oh = g.oh(), ow = g.ow();
    for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc)
      for (int64_t r = 0; r < MR; r++) {
        if (p0 + r >= mc) {
          for (int64_t kk = 0; kk < kc; kk++)
            dst[kk * MR + r] = 0.0f;
          continue;
        }
        int64_t pix = i0 + p0 + r, ix = pix % g.w, iy = pix / g.w % g.h, b = pix / (g.w * g.h);
        int64_t tap = k0 / g.f, fo = k0 % g.f;
        for (int64_t kk = 0; kk < kc; tap++, fo = 0) {
          int64_t run = std::min(g.f - fo, kc - kk);
          int64_t oy = source(iy, tap / g.kw, g.pt, g.sh, oh);
          int64_t ox = source(ix, tap % g.kw, g.pl, g.sw, ow);
          float* d = dst + kk * MR + r;
          if (oy >= 0 && ox >= 0) {
            const float* src = dy + ((b * oh + oy) * ow + ox) * g.f + fo;
            for (int64_t t = 0; t < run; t++)
              d[t * MR] = src[t];
          } else {
            for (int64_t t = 0; t < run; t++)
              d[t * MR] = 0.0f;
          }
          kk += run;
        }
      }
  }
};

// Input-gradient B operand: Wt[(i, j, fo), ch] = w[i, j, ch, fo].
struct PackFilterT {
  const Conv2dGeom& g;
  const float* w;

  template <int NR> void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    for (int64_t q0 = 0; q0 < nc; q0 += NR, dst += NR * kc) {
      int64_t cols = std::min<int64_t>(NR, nc - q0);
      for (int64_t kk = 0; kk < kc; kk++) {
        int64_t tap = (k0 + kk) / g.f, fo = (k0 + kk) % g.f;
        const float* src = w + (tap * g.c + j0 + q0) * g.f + fo;
        float* d = dst + kk * NR;
        for (int64_t j = 0; j < cols; j++)
          d[j] = src[j * g.f];
        for (int64_t j = cols; j < NR; j++)
          d[j] = 0.0f;
      }
    }
  }
};

inline bool is_pointwise(const Conv2dGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 &&
         g.pr == 0;
}

} // namespace conv_detail

// The workspace floats the three passes of a convolution need (opt.workspace, 64-byte
// aligned; generated code plans one in its arena): the GEMM's, or the direct kernels'
// scratch (padded copies of the input, spread filters, partial sums), whichever is more.
// A null opt.workspace makes each pass use a per-thread buffer instead.
inline int64_t conv2d_workspace_floats(const Conv2dGeom& g) {
  int64_t pixels = g.n * g.oh() * g.ow(), taps = g.kh * g.kw;
  int64_t floats = std::max({gemm_workspace_floats(pixels, g.f, taps * g.c),      // forward
                             gemm_workspace_floats(g.n * g.h * g.w, g.c, taps * g.f), // input gradient
                             gemm_workspace_floats(taps * g.c, g.f, pixels)});    // filter gradient
  floats = std::max(floats, g.kh * g.kw * g.c * g.f + 16); // the filter transposed
  if (conv_direct::cw_forward_shape(g))
    floats = std::max(floats, conv_direct::forward_cw_floats(g));
  if (conv_direct::cw_filter_grad_shape(g))
    floats = std::max(floats, conv_direct::filter_grad_cw_floats(g));
  if (conv_direct::cw_input_grad_shape(g))
    floats = std::max(floats, conv_direct::input_grad_cw_floats(g));
  return floats;
}

// y[n, oh, ow, f] = epilogue(conv(x, w)): bias per filter, then the activation.
inline void conv2d_forward(const Conv2dGeom& g, const float* x, const float* w, float* y,
                           const Epilogue& ep = {}, const GemmOptions& opt = {}) {
  int64_t m = g.n * g.oh() * g.ow(), k = g.kh * g.kw * g.c;
  if (m > 0 && k > 0 && conv_direct::cw_forward_usable(g, opt)) {
    enable_ftz();
    return conv_direct::forward_cw_call(g, x, w, y, ep, opt);
  }
#ifdef DLC_RT_HAVE_AVX512 // the row kernels exist only there (usable() is false elsewhere)
  if (conv_direct::usable(g, true, opt)) {
    enable_ftz();
    return conv_direct::split(g.n * g.oh(), 2 * m * k * g.f, opt, [&](TaskRange rows) {
      conv_direct::forward_rows(g, x, w, y, ep, rows);
    });
  }
#endif
  PackMatrixB filter{w, g.f, false};
  if (conv_detail::is_pointwise(g))
    return gemm_packed(m, g.f, k, 1.0f, PackMatrixA{x, g.c, false}, filter, 0.0f, y, g.f, ep, opt);
  gemm_packed(m, g.f, k, 1.0f, conv_detail::PackPatches{g, x}, filter, 0.0f, y, g.f, ep, opt);
}

// dx = conv^T(dy, w) + beta*dx: the gradient with respect to the input.
inline void conv2d_backward_input(const Conv2dGeom& g, const float* dy, const float* w, float* dx,
                                  float beta = 0.0f, const GemmOptions& opt = {}) {
  int64_t m = g.n * g.h * g.w, k = g.kh * g.kw * g.f;
  if (m > 0 && k > 0 && conv_direct::cw_input_grad_usable(g, opt)) {
    enable_ftz();
    return conv_direct::input_grad_cw(g, dy, w, dx, beta, opt);
  }
#ifdef DLC_RT_HAVE_AVX512 // the row kernels exist only there (usable() is false elsewhere)
  if (m > 0 && k > 0 && conv_direct::usable_input_grad(g, opt)) {
    enable_ftz();
    conv_direct::Scratch scratch(opt.workspace, g.kh * g.kw * g.c * g.f);
    const float* wt = conv_direct::filter_fc(g, w, scratch.take(g.kh * g.kw * g.c * g.f));
    return conv_direct::split(g.n * g.h, 2 * m * k * g.c, opt, [&](TaskRange rows) {
      conv_direct::input_grad_rows(g, dy, wt, dx, beta, rows);
    });
  }
#endif
  if (conv_detail::is_pointwise(g))
    return gemm_packed(m, g.c, k, 1.0f, PackMatrixA{dy, g.f, false}, PackMatrixB{w, g.f, true},
                       beta, dx, g.c, {}, opt);
  gemm_packed(m, g.c, k, 1.0f, conv_detail::PackOutputGrad{g, dy}, conv_detail::PackFilterT{g, w},
              beta, dx, g.c, {}, opt);
}

// dw = P^T dy + beta*dw: the gradient with respect to the filter (beta = 1 accumulates).
inline void conv2d_backward_filter(const Conv2dGeom& g, const float* x, const float* dy, float* dw,
                                   float beta = 0.0f, const GemmOptions& opt = {}) {
  int64_t m = g.kh * g.kw * g.c, k = g.n * g.oh() * g.ow();
  if (m > 0 && k > 0 && conv_direct::cw_filter_grad_usable(g, opt)) {
    enable_ftz();
    return conv_direct::filter_grad_cw_any(g, x, dy, dw, beta, opt);
  }
#ifdef DLC_RT_HAVE_AVX512 // the row kernels exist only there (usable() is false elsewhere)
  if (m > 0 && k > 0 && conv_direct::usable(g, false, opt)) {
    enable_ftz();
    int64_t tiles = (m + conv_direct::kGradRows - 1) / conv_direct::kGradRows;
    return conv_direct::split(tiles, 2 * m * k * g.f, opt, [&](TaskRange part) {
      conv_direct::filter_grad_rows(g, x, dy, dw, beta, part);
    });
  }
#endif
  PackMatrixB grad{dy, g.f, false};
  if (conv_detail::is_pointwise(g))
    return gemm_packed(m, g.f, k, 1.0f, PackMatrixA{x, g.c, true}, grad, beta, dw, g.f, {}, opt);
  gemm_packed(m, g.f, k, 1.0f, conv_detail::PackPatchesT{g, x}, grad, beta, dw, g.f, {}, opt);
}

} // namespace dlc_rt
