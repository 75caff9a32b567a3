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

// The packers below fill the GEMM's panels without a division per value: pixel
// coordinates advance one by one (Pixels), and every value moves in a contiguous run
// (copy_run). The forward and input-gradient packers write row-major panels (gemm_pack.h,
// `rows_major`): a pixel's depth is one run of channels per tap. The filter gradient's
// panel rows are (tap, channel) pieces, so each pixel gives one run per piece. Each
// packer's `panels<MR, Vector>` is its loop; pack_with runs it with the runs moved by
// inlined AVX-512 masked moves where the CPU has them (a libc call per run of 12 to 128
// floats cost as much as the move).

// The coordinates (b, y, x) of consecutive pixels of an [n, h, w] grid from index `pix`.
struct Pixels {
  int64_t h, w, b, y, x;
  Pixels(int64_t pix, int64_t height, int64_t width)
      : h(height), w(width), b(pix / (width * height)), y(pix / width % height), x(pix % width) {}
  void next() {
    if (++x == w) {
      x = 0;
      if (++y == h) y = 0, b++;
    }
  }
};

// Input pixel (iy, ix) of image `img` (its channels), or null where that is padding.
inline const float* input_pixel(const Conv2dGeom& g, const float* img, int64_t iy, int64_t ix) {
  return iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? img + (iy * g.w + ix) * g.c : nullptr;
}

// dst[j] = src[j] for j < n, or zeros where src is null.
template <bool Vector>
DLC_RT_ALWAYS_INLINE inline void copy_run(const float* src, int64_t n, float* DLC_RT_RESTRICT dst) {
#ifdef DLC_RT_HAVE_AVX512
  if constexpr (Vector) {
    for (int64_t j = 0; j < n; j += 16)
      pack_detail::copy_or_zero16(src ? src + j : nullptr, std::min<int64_t>(16, n - j), dst + j);
    return;
  }
#endif
  if (src) std::copy(src, src + n, dst);
  else std::fill(dst, dst + n, 0.0f);
}

#ifdef DLC_RT_HAVE_AVX512
template <int MR, class Packer>
DLC_RT_TARGET_AVX512 DLC_RT_FLATTEN void panels_avx512(const Packer& p, int64_t i0, int64_t mc, int64_t k0, int64_t kc,
                                                      float* dst) {
  p.template panels<MR, true>(i0, mc, k0, kc, dst);
}
#endif

// The packer's panels<MR, Vector>, with vector moves where the CPU has AVX-512.
template <int MR, class Packer>
inline void pack_with(const Packer& p, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
#ifdef DLC_RT_HAVE_AVX512
  if (avx512_usable()) return panels_avx512<MR>(p, i0, mc, k0, kc, dst);
#endif
  p.template panels<MR, false>(i0, mc, k0, kc, dst);
}

// One row of a row-major panel: depth [k0, k0 + kc) of a pixel whose depth index is
// (tap, channel), taps (i, j) of a kernel kw wide, `run` channels each; tap_src(i, j)
// gives the tap's run of channels in the source, or null where the tap reads padding.
template <bool Vector, class TapSource>
DLC_RT_ALWAYS_INLINE inline void pack_tap_row(int64_t k0, int64_t kc, int64_t run, int64_t kw,
                                              const TapSource& tap_src, float* DLC_RT_RESTRICT d) {
  int64_t tap = k0 / run, ch = k0 % run, ti = tap / kw, tj = tap % kw;
  for (int64_t kk = 0; kk < kc; ch = 0) {
    int64_t len = std::min(run - ch, kc - kk);
    const float* src = tap_src(ti, tj);
    copy_run<Vector>(src ? src + ch : nullptr, len, d + kk);
    kk += len;
    if (++tj == kw) tj = 0, ti++;
  }
}

// Forward A operand: the patch matrix P[pixel, (i, j, ch)], pixel = (b, oy, ox).
struct PackPatches {
  static constexpr bool rows_major = true;
  const Conv2dGeom& g;
  const float* x;

  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    pack_with<MR>(*this, i0, mc, k0, kc, dst);
  }
  template <int MR, bool Vector> void panels(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    Pixels px(i0, g.oh(), g.ow());
    for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc)
      for (int64_t r = 0; r < MR; r++) {
        float* d = dst + r * kc;
        if (p0 + r >= mc) {
          copy_run<Vector>(nullptr, kc, d);
          continue;
        }
        const float* img = x + px.b * g.h * g.w * g.c;
        int64_t y0 = px.y * g.sh - g.pt, x0 = px.x * g.sw - g.pl;
        auto tap = [&](int64_t ti, int64_t tj) { return input_pixel(g, img, y0 + ti, x0 + tj); };
        pack_tap_row<Vector>(k0, kc, g.c, g.kw, tap, d);
        px.next();
      }
  }
};

// Filter-gradient B operand: the patch matrix P[pixel, (i, j, ch)] by column panels,
// depth = pixels (the filter gradient is computed transposed, dwᵀ = dyᵀ P, so that each
// pixel's part of a panel is NR values of x: one or a few runs of channels).
struct PackPatchColumns {
  const Conv2dGeom& g;
  const float* x;

  template <int NR> void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    pack_with<NR>(*this, j0, nc, k0, kc, dst);
  }
  // Columns [j0, j0 + nc) as panels of NR, pixels [k0, k0 + kc).
  template <int NR, bool Vector> void panels(int64_t j0, int64_t nc, int64_t k0, int64_t kc, float* dst) const {
    for (int64_t q0 = 0; q0 < nc; q0 += NR, dst += NR * kc) {
      // The panel's columns as pieces of one tap each: columns [j, j + len) are channels
      // [ch, ch + len) of tap (ti, tj), as offsets from a pixel's input coordinates.
      struct Piece {
        int64_t ti, tj, ch, len, j;
      } piece[NR];
      int pieces = 0;
      int64_t cols = std::min<int64_t>(NR, nc - q0), tap = (j0 + q0) / g.c, ch = (j0 + q0) % g.c;
      for (int64_t j = 0; j < cols; tap++, ch = 0) {
        int64_t len = std::min(g.c - ch, cols - j);
        piece[pieces++] = {tap / g.kw - g.pt, tap % g.kw - g.pl, ch, len, j};
        j += len;
      }
      Pixels px(k0, g.oh(), g.ow());
      for (int64_t kk = 0; kk < kc; kk++, px.next()) {
        float* d = dst + kk * NR;
        const float* img = x + px.b * g.h * g.w * g.c;
        for (int q = 0; q < pieces; q++) {
          const Piece& pc = piece[q];
          const float* src = input_pixel(g, img, px.y * g.sh + pc.ti, px.x * g.sw + pc.tj);
          copy_run<Vector>(src ? src + pc.ch : nullptr, pc.len, d + pc.j);
        }
        if (cols < NR) copy_run<Vector>(nullptr, NR - cols, d + cols);
      }
    }
  }
};

// Input-gradient A operand: Q[in_pixel, (i, j, fo)] = dy[b, oy, ox, fo] where the output
// pixel (oy, ox) saw this input pixel through tap (i, j): oy*sh + i - pt == iy, etc.
struct PackOutputGrad {
  static constexpr bool rows_major = true;
  const Conv2dGeom& g;
  const float* dy;

  // The output coordinate that reads input coordinate `in` through tap offset `t`, or -1.
  static int64_t source(int64_t in, int64_t t, int64_t pad, int64_t stride, int64_t extent) {
    int64_t s = in + pad - t;
    if (s < 0 || s % stride != 0 || s / stride >= extent) return -1;
    return s / stride;
  }

  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    pack_with<MR>(*this, i0, mc, k0, kc, dst);
  }
  template <int MR, bool Vector> void panels(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    const int64_t oh = g.oh(), ow = g.ow();
    Pixels px(i0, g.h, g.w);
    for (int64_t p0 = 0; p0 < mc; p0 += MR, dst += MR * kc)
      for (int64_t r = 0; r < MR; r++) {
        float* d = dst + r * kc;
        if (p0 + r >= mc) {
          copy_run<Vector>(nullptr, kc, d);
          continue;
        }
        const float* img = dy + px.b * oh * ow * g.f;
        int64_t iy = px.y, ix = px.x;
        pack_tap_row<Vector>(k0, kc, g.f, g.kw, [&](int64_t ti, int64_t tj) -> const float* {
          int64_t oy = source(iy, ti, g.pt, g.sh, oh);
          int64_t ox = oy >= 0 ? source(ix, tj, g.pl, g.sw, ow) : -1;
          return ox >= 0 ? img + (oy * ow + ox) * g.f : nullptr;
        }, d);
        px.next();
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

// The filter gradient's workspace: its GEMM's (dwᵀ = dyᵀ P, f rows) and dwᵀ itself.
inline int64_t filter_grad_floats(const Conv2dGeom& g) {
  int64_t rows = g.kh * g.kw * g.c;
  return conv_direct::Scratch::round(gemm_workspace_floats(g.f, rows, g.n * g.oh() * g.ow())) +
         conv_direct::Scratch::round(rows * g.f);
}

// The workspace floats the three passes of a convolution need (opt.workspace, 64-byte
// aligned; generated code plans one in its arena): the GEMM's, or the direct kernels'
// scratch (padded copies of the input, spread filters, partial sums), whichever is more.
// A null opt.workspace makes each pass use a per-thread buffer instead.
inline int64_t conv2d_workspace_floats(const Conv2dGeom& g) {
  int64_t pixels = g.n * g.oh() * g.ow(), taps = g.kh * g.kw;
  int64_t floats = std::max({gemm_workspace_floats(pixels, g.f, taps * g.c),      // forward
                             gemm_workspace_floats(g.n * g.h * g.w, g.c, taps * g.f), // input gradient
                             filter_grad_floats(g)});
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
  if (conv_detail::is_pointwise(g))
    return gemm_packed(m, g.f, k, 1.0f, PackMatrixA{x, g.c, true}, PackMatrixB{dy, g.f, false}, beta, dw, g.f, {},
                       opt);
  // dwᵀ [f, m] = dyᵀ P, then transposed into dw: with P as the B operand each pixel's part
  // of a packed panel is up to NR contiguous values of x, where as the A operand (P
  // transposed, m rows) it was MR. Every element sums the same products in the same
  // order, and beta applies to dwᵀ as the GEMM would to dw, so the bits are those of
  // dw = Pᵀ dy.
  conv_direct::Scratch scratch(opt.workspace, filter_grad_floats(g));
  GemmOptions o = opt;
  o.workspace = scratch.take(gemm_workspace_floats(g.f, m, k));
  float* dwt = scratch.take(m * g.f);
  auto transpose = [](const float* src, int64_t rows, int64_t cols, float* dst) {
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
  };
  if (beta != 0.0f) transpose(dw, m, g.f, dwt);
  gemm_packed(g.f, m, k, 1.0f, PackMatrixA{dy, g.f, true}, conv_detail::PackPatchColumns{g, x}, beta, dwt, m, {}, o);
  transpose(dwt, g.f, m, dw);
}

} // namespace dlc_rt
