// The geometry of a 2-D convolution (conv2d.h, conv2d_direct.h): input [n, h, w, c] NHWC,
// filter [kh, kw, c, f] HWIO, strides and zero padding; the output is [n, oh, ow, f].
#pragma once

#include <cstdint>

namespace dlc_rt {

struct Conv2dGeom {
  int64_t n, h, w, c;     // input [n, h, w, c]; n is the batch of this call
  int64_t kh, kw, f;      // filter [kh, kw, c, f]
  int64_t sh, sw;         // strides
  int64_t pt, pb, pl, pr; // zero padding: top, bottom, left, right
  int64_t oh() const { return (h + pt + pb - kh) / sh + 1; }
  int64_t ow() const { return (w + pl + pr - kw) / sw + 1; }
};

} // namespace dlc_rt
