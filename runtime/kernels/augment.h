// Geometric augmentation of NHWC images (ir op random_affine, its gradient
// random_affine_grad): output pixel (y, x) of sample s reads the input at the point
// (yi, xi) = M_s (y, x, 1), an affine map drawn for the sample from the counter RNG (4
// uniforms keyed by s), resolved by a fill mode and an interpolation as Keras's image
// layers (TensorFlow's ImageProjectiveTransformV3) do. Outside training every M is the
// identity (a crop: the centre window).
//
// The result is linear in the input for a given M (the fill value adds a constant), so
// the gradient spreads dy back over the same taps with the same weights.
#pragma once

#include "runtime/kernels/gemm_parallel.h" // parallel_range
#include "runtime/rng.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dlc_rt {

// What M does, and what the four factors mean for it (per axis: height, then width).
enum class AffineKind : int64_t {
  flip = 0,      // flip the axis with probability *_upper (0 or 0.5)
  translate = 1, // shift by u in [lower, upper) times the extent (positive: down / right)
  zoom = 2,      // scale both axes about the centre by 1 + u, u in [h_lower, h_upper) (> 1: zoom out)
  zoom_hw = 3,   // the same with its own factor per axis
  rotate = 4,    // rotate about the centre by u in [h_lower, h_upper) turns (positive: counter-clockwise)
  crop = 5,      // a window of the output's size at a random whole offset into the input padded by
                 // h_lower (= h_upper) pixels on every side (inference: the centre window)
};
enum class FillMode : int64_t { reflect = 0, wrap = 1, constant = 2, nearest = 3 };
enum class Interpolation : int64_t { nearest = 0, bilinear = 1 };

// The names the IR gives these (ir op random_affine's attributes); -1 for an unknown name.
inline int64_t affine_code(const char* const* names, int64_t count, const char* name) {
  for (int64_t i = 0; i < count; i++) {
    const char *a = names[i], *b = name;
    while (*a && *a == *b) a++, b++;
    if (*a == *b) return i;
  }
  return -1;
}
inline int64_t affine_kind_code(const char* name) {
  static const char* const names[] = {"flip", "translate", "zoom", "zoom_hw", "rotate", "crop"};
  return affine_code(names, 6, name);
}
inline int64_t fill_mode_code(const char* name) {
  static const char* const names[] = {"reflect", "wrap", "constant", "nearest"};
  return affine_code(names, 4, name);
}
inline int64_t interpolation_code(const char* name) {
  static const char* const names[] = {"nearest", "bilinear"};
  return affine_code(names, 2, name);
}

struct AffineGeom {
  int64_t n, h, w, c; // input [n, h, w, c]; n is the batch of this call
  int64_t oh, ow;     // output [n, oh, ow, c]
  int64_t kind;       // AffineKind
  double h_lower, h_upper, w_lower, w_upper;
  int64_t fill_mode;     // FillMode
  float fill_value;      // FillMode::constant
  int64_t interpolation; // Interpolation
};

// (yi, xi) = (m[0] y + m[1] x + m[2], m[3] y + m[4] x + m[5]).
struct Affine {
  double m[6] = {1, 0, 0, 0, 1, 0};
};

// Sample s's map; `stream` is rng_step_stream(node stream, step).
inline Affine sample_affine(const AffineGeom& g, uint64_t seed, uint64_t stream, int64_t s, bool training) {
  Affine a;
  double H = double(g.h), W = double(g.w), cy = (H - 1) / 2, cx = (W - 1) / 2;
  auto u = [&](int k) { return double(rng_uniform(seed, stream, uint64_t(s) * 4 + uint64_t(k))); };
  if (AffineKind(g.kind) == AffineKind::crop) {
    int64_t pad = int64_t(g.h_lower), room_y = g.h + 2 * pad - g.oh, room_x = g.w + 2 * pad - g.ow;
    int64_t oy = room_y / 2, ox = room_x / 2;
    if (training) {
      oy = std::min(room_y, int64_t(u(0) * double(room_y + 1)));
      ox = std::min(room_x, int64_t(u(1) * double(room_x + 1)));
    }
    a.m[2] = double(oy - pad);
    a.m[5] = double(ox - pad);
    return a;
  }
  if (!training) return a;
  double fy = g.h_lower + (g.h_upper - g.h_lower) * u(0), fx = g.w_lower + (g.w_upper - g.w_lower) * u(1);
  switch (AffineKind(g.kind)) {
  case AffineKind::flip:
    if (u(2) < g.h_upper) a.m[0] = -1, a.m[2] = H - 1;
    if (u(3) < g.w_upper) a.m[4] = -1, a.m[5] = W - 1;
    break;
  case AffineKind::translate:
    a.m[2] = -fy * H;
    a.m[5] = -fx * W;
    break;
  case AffineKind::zoom:
  case AffineKind::zoom_hw: {
    double zy = 1 + fy, zx = AffineKind(g.kind) == AffineKind::zoom ? zy : 1 + fx;
    a.m[0] = zy, a.m[2] = cy * (1 - zy);
    a.m[4] = zx, a.m[5] = cx * (1 - zx);
    break;
  }
  case AffineKind::rotate: {
    double t = fy * 6.283185307179586, cs = std::cos(t), sn = std::sin(t);
    // Keras: xi = cos (x - cx) - sin (y - cy) + cx, yi = sin (x - cx) + cos (y - cy) + cy.
    a.m[0] = cs, a.m[1] = sn, a.m[2] = cy - cs * cy - sn * cx;
    a.m[3] = -sn, a.m[4] = cs, a.m[5] = cx + sn * cy - cs * cx;
    break;
  }
  case AffineKind::crop: break;
  }
  return a;
}

namespace augment_detail {

// A coordinate outside [0, len - 1] brought inside by the fill mode (constant: unchanged).
inline double fill_coordinate(double v, int64_t len, FillMode mode) {
  double L = double(len);
  if (mode == FillMode::constant || (v >= 0 && v <= L - 1)) return v;
  if (len <= 1) return 0;
  switch (mode) {
  case FillMode::reflect: { // d c b a | a b c d | d c b a: period 2 len, mirrored about -0.5
    double p = std::fmod(v + 0.5, 2 * L);
    if (p < 0) p += 2 * L;
    v = (p < L ? p : 2 * L - p) - 0.5;
    break;
  }
  case FillMode::wrap: { // a b c d | a b c d
    v = std::fmod(v, L);
    if (v < 0) v += L;
    break;
  }
  default: break;
  }
  return std::min(std::max(v, 0.0), L - 1);
}

} // namespace augment_detail

// The index along an axis of length `len` that nearest interpolation reads at coordinate
// v, or -1 for the fill value.
inline int64_t nearest_index(double v, int64_t len, FillMode mode) {
  double r = std::round(augment_detail::fill_coordinate(v, len, mode));
  return r >= 0 && r <= double(len - 1) ? int64_t(r) : -1;
}

// The input pixels (index y * w + x, or -1 for the fill value) and weights that output
// pixel (y, x) of a sample with map `a` reads. Returns how many (1 or 4).
struct AffineTaps {
  int count = 0;
  int64_t pixel[4];
  float weight[4];
};
inline AffineTaps affine_taps(const AffineGeom& g, const Affine& a, int64_t y, int64_t x) {
  using namespace augment_detail;
  FillMode mode = FillMode(g.fill_mode);
  double yi = a.m[0] * double(y) + a.m[1] * double(x) + a.m[2];
  double xi = a.m[3] * double(y) + a.m[4] * double(x) + a.m[5];
  AffineTaps t;
  if (Interpolation(g.interpolation) == Interpolation::nearest) {
    int64_t r = nearest_index(yi, g.h, mode), c = nearest_index(xi, g.w, mode);
    t.count = 1;
    t.pixel[0] = r < 0 || c < 0 ? -1 : r * g.w + c;
    t.weight[0] = 1;
    return t;
  }
  yi = fill_coordinate(yi, g.h, mode);
  xi = fill_coordinate(xi, g.w, mode);
  auto at = [&](double py, double px) -> int64_t {
    if (!(py >= 0 && py <= double(g.h - 1) && px >= 0 && px <= double(g.w - 1))) return -1;
    return int64_t(py) * g.w + int64_t(px);
  };
  double y0 = std::floor(yi), x0 = std::floor(xi), fy = yi - y0, fx = xi - x0;
  t.count = 4;
  t.pixel[0] = at(y0, x0), t.weight[0] = float((1 - fy) * (1 - fx));
  t.pixel[1] = at(y0, x0 + 1), t.weight[1] = float((1 - fy) * fx);
  t.pixel[2] = at(y0 + 1, x0), t.weight[2] = float(fy * (1 - fx));
  t.pixel[3] = at(y0 + 1, x0 + 1), t.weight[3] = float(fy * fx);
  return t;
}

namespace augment_detail {

// Calls f(output pixel, input pixel or -1, weight) for every tap of one sample. Nearest
// interpolation of an axis-aligned map (a flip, a crop, a zoom or translation without
// rotation) reads row r(y) and column c(x): the columns of a block are looked up once for
// all rows (the same taps as affine_taps, found faster).
template <class F> void each_tap(const AffineGeom& g, const Affine& a, F&& f) {
  if (Interpolation(g.interpolation) == Interpolation::nearest && a.m[1] == 0 && a.m[3] == 0) {
    FillMode mode = FillMode(g.fill_mode);
    constexpr int64_t kBlock = 256;
    int64_t cols[kBlock];
    for (int64_t x0 = 0; x0 < g.ow; x0 += kBlock) {
      int64_t count = std::min(kBlock, g.ow - x0);
      for (int64_t k = 0; k < count; k++) cols[k] = nearest_index(a.m[4] * double(x0 + k) + a.m[5], g.w, mode);
      for (int64_t oy = 0; oy < g.oh; oy++) {
        int64_t r = nearest_index(a.m[0] * double(oy) + a.m[2], g.h, mode);
        for (int64_t k = 0; k < count; k++) f(oy * g.ow + x0 + k, r < 0 || cols[k] < 0 ? -1 : r * g.w + cols[k], 1.0f);
      }
    }
    return;
  }
  for (int64_t oy = 0; oy < g.oh; oy++)
    for (int64_t ox = 0; ox < g.ow; ox++) {
      AffineTaps t = affine_taps(g, a, oy, ox);
      for (int k = 0; k < t.count; k++) f(oy * g.ow + ox, t.pixel[k], t.weight[k]);
    }
}

} // namespace augment_detail

// y = each sample resampled at its map: the sum of its taps' values times their weights.
inline void random_affine_forward(const AffineGeom& g, const float* x, float* y, uint64_t seed, uint64_t stream,
                                  bool training) {
  parallel_range(g.n, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; s++) {
      const float* xs = x + s * g.h * g.w * g.c;
      float* ys = y + s * g.oh * g.ow * g.c;
      std::fill(ys, ys + g.oh * g.ow * g.c, 0.0f);
      augment_detail::each_tap(g, sample_affine(g, seed, stream, s, training),
                               [&](int64_t o, int64_t pixel, float weight) {
                                 float* out = ys + o * g.c;
                                 if (pixel < 0)
                                   for (int64_t ch = 0; ch < g.c; ch++) out[ch] += weight * g.fill_value;
                                 else
                                   for (int64_t ch = 0; ch < g.c; ch++) out[ch] += weight * xs[pixel * g.c + ch];
                               });
    }
  });
}

// dx = the transpose of the forward map applied to dy (the fill value has no gradient).
inline void random_affine_backward(const AffineGeom& g, const float* dy, float* dx, uint64_t seed, uint64_t stream,
                                   bool training) {
  parallel_range(g.n, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; s++) {
      float* ds = dx + s * g.h * g.w * g.c;
      const float* d = dy + s * g.oh * g.ow * g.c;
      std::fill(ds, ds + g.h * g.w * g.c, 0.0f);
      augment_detail::each_tap(g, sample_affine(g, seed, stream, s, training),
                               [&](int64_t o, int64_t pixel, float weight) {
                                 if (pixel >= 0)
                                   for (int64_t ch = 0; ch < g.c; ch++) ds[pixel * g.c + ch] += weight * d[o * g.c + ch];
                               });
    }
  });
}

} // namespace dlc_rt
