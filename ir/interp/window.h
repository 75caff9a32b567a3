// The geometry of a convolution or pooling node for the interpreter's kernels
// (eval_grad_window.cpp, eval_depthwise.cpp): input x [n,h,w,c], output y [n,oh,ow,oc],
// window kh x kw, the node's strides and pads.
#pragma once

#include "ir/graph.h"

namespace dlc::ir::interp {

struct Window {
  int64_t n, h, w, c, oh, ow, oc, kh, kw, sh, sw, pt, pl;

  int64_t x_at(int64_t b, int64_t iy, int64_t ix, int64_t ch) const { return ((b * h + iy) * w + ix) * c + ch; }
  int64_t y_at(int64_t b, int64_t oy, int64_t ox, int64_t ch) const { return ((b * oh + oy) * ow + ox) * oc + ch; }
  int64_t w_at(int64_t i, int64_t j, int64_t ch, int64_t f) const { return ((i * kw + j) * c + ch) * oc + f; }

  // Calls f(i, j, iy, ix) for the unpadded input positions (iy, ix) of output position
  // (oy, ox), tap (i, j) of the window, in window order (row by row).
  template <typename F>
  void taps(int64_t oy, int64_t ox, F f) const {
    for (int64_t i = 0; i < kh; i++) {
      int64_t iy = oy * sh + i - pt;
      if (iy < 0 || iy >= h) continue;
      for (int64_t j = 0; j < kw; j++) {
        int64_t ix = ox * sw + j - pl;
        if (ix >= 0 && ix < w) f(i, j, iy, ix);
      }
    }
  }
};

inline Window window(const Node& node, const Shape& x, const Shape& y, int64_t kh, int64_t kw) {
  auto& st = node.attrs.get_ints("strides");
  auto& pd = node.attrs.get_ints("pads");
  return {x[0], x[1], x[2], x[3], y[1], y[2], y[3], kh, kw, st[0], st[1], pd[0], pd[2]};
}

} // namespace dlc::ir::interp
