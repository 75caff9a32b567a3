// Reductions and (log-)softmax along one axis of a tensor viewed as [outer, len, inner]
// (semantics of ir/interp/eval_reduction.cpp and eval_grad.cpp): sums accumulate in
// double in index order, as the reference does, then round once.
#pragma once

#include "runtime/ftz.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace dlc_rt {

enum class Reduce { sum, mean, max };

// y[o, i] = reduce over k of x[o, k, i].
inline void reduce_lines(Reduce kind, int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  enable_ftz();
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float* line = x + o * len * inner + i;
      double acc = kind == Reduce::max ? -std::numeric_limits<double>::infinity() : 0.0;
      for (int64_t k = 0; k < len; k++) {
        double v = double(line[k * inner]);
        acc = kind == Reduce::max ? (acc < v ? v : acc) : acc + v;
      }
      if (kind == Reduce::mean) acc = len > 0 ? acc / double(len) : 0.0;
      y[o * inner + i] = float(acc);
    }
}

// y = softmax(x) or log_softmax(x) along each line; y may equal x.
inline void softmax_lines(bool log, int64_t outer, int64_t len, int64_t inner, const float* x, float* y) {
  enable_ftz();
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float* in = x + o * len * inner + i;
      float* out = y + o * len * inner + i;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < len; k++) m = m < double(in[k * inner]) ? double(in[k * inner]) : m;
      double z = 0;
      for (int64_t k = 0; k < len; k++) z += std::exp(double(in[k * inner]) - m);
      double lz = std::log(z);
      for (int64_t k = 0; k < len; k++) {
        double v = double(in[k * inner]) - m;
        out[k * inner] = float(log ? v - lz : std::exp(v) / z);
      }
    }
}

// dx from the forward output y and upstream dy: softmax: y * (dy - sum(dy * y));
// log_softmax: dy - exp(y) * sum(dy). dx may equal dy.
inline void softmax_grad_lines(bool log, int64_t outer, int64_t len, int64_t inner, const float* y,
                               const float* dy, float* dx) {
  enable_ftz();
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i;
      double s = 0;
      for (int64_t k = 0; k < len; k++) {
        int64_t at = base + k * inner;
        s += log ? double(dy[at]) : double(dy[at]) * double(y[at]);
      }
      for (int64_t k = 0; k < len; k++) {
        int64_t at = base + k * inner;
        double g = log ? double(dy[at]) - std::exp(double(y[at])) * s : double(y[at]) * (double(dy[at]) - s);
        dx[at] = float(g);
      }
    }
}

// ds[j] = sum over rows i of (x[i, j] <= 0 ? x[i, j] * dy[i, j] : 0): prelu's slope
// gradient over [rows, c], accumulated in double in row order.
inline void prelu_slope_grad(int64_t rows, int64_t c, const float* x, const float* dy, float* ds) {
  enable_ftz();
  for (int64_t j = 0; j < c; j++) {
    double acc = 0;
    for (int64_t i = 0; i < rows; i++) {
      float v = x[i * c + j];
      if (v <= 0.0f) acc += double(v) * double(dy[i * c + j]);
    }
    ds[j] = float(acc);
  }
}

} // namespace dlc_rt
