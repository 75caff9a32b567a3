// Reductions and (log-)softmax along one axis of a tensor viewed as [outer, len, inner]
// (semantics of ir/interp/eval_reduction.cpp and eval_grad.cpp): sums accumulate in
// double in index order, as the reference does, then round once.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/simd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace dlc_rt {

enum class Reduce { sum, mean, max };

namespace reduce_detail {

// Sums (or means) of lines [o, :, i] for i in [i0, i1): the k loop outside, so that x is
// read once in order, each column accumulating in its own double in index order (the
// same additions as one line at a time).
inline void sum_columns(int64_t len, int64_t inner, int64_t i0, int64_t i1, const float* x,
                        double* acc) {
  for (int64_t i = i0; i < i1; i++)
    acc[i - i0] = 0.0;
  for (int64_t k = 0; k < len; k++)
    for (int64_t i = i0; i < i1; i++)
      acc[i - i0] += double(x[k * inner + i]);
}

#ifdef DLC_RT_HAVE_AVX512
// sum_columns of x's columns [0, 8V) as V vectors of doubles (V independent chains).
template <int V>
DLC_RT_TARGET_AVX512 inline void sum_column_group(int64_t len, int64_t inner, const float* x,
                                                  double* acc) {
  __m512d s[V];
  DLC_RT_UNROLL
  for (int v = 0; v < V; v++)
    s[v] = _mm512_setzero_pd();
  for (int64_t k = 0; k < len; k++) {
    DLC_RT_UNROLL
    for (int v = 0; v < V; v++)
      s[v] = _mm512_add_pd(s[v], _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(x + k * inner + 8 * v)));
  }
  DLC_RT_UNROLL
  for (int v = 0; v < V; v++)
    _mm512_storeu_pd(acc + 8 * v, s[v]);
}

// sum_columns with AVX-512 for whole groups of 8 columns, 4 groups at a time while they last;
// returns where the groups end (the caller sums the last inner % 8 columns).
DLC_RT_TARGET_AVX512 inline int64_t sum_columns_avx512(int64_t len, int64_t inner, int64_t i0,
                                                       int64_t i1, const float* x, double* acc) {
  int64_t c0 = i0;
  for (; c0 + 32 <= i1; c0 += 32)
    sum_column_group<4>(len, inner, x + c0, acc + (c0 - i0));
  for (; c0 + 8 <= i1; c0 += 8)
    sum_column_group<1>(len, inner, x + c0, acc + (c0 - i0));
  return c0;
}
#endif

} // namespace reduce_detail

// y[o, i] = reduce over k of x[o, k, i].
inline void reduce_lines(Reduce kind, int64_t outer, int64_t len, int64_t inner, const float* x,
                         float* y) {
  enable_ftz();
  if (kind != Reduce::max && inner > 1) { // sums down columns: read rows in order
    constexpr int64_t kBlock = 256;       // columns per pass (their sums on the stack)
    double acc[kBlock];
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i0 = 0; i0 < inner; i0 += kBlock) {
        int64_t i1 = std::min(inner, i0 + kBlock);
        const float* xo = x + o * len * inner;
        int64_t done = i0;
#ifdef DLC_RT_HAVE_AVX512
        if (avx512_usable()) done = reduce_detail::sum_columns_avx512(len, inner, i0, i1, xo, acc);
#endif
        reduce_detail::sum_columns(len, inner, done, i1, xo, acc + (done - i0));
        for (int64_t i = i0; i < i1; i++) {
          double a = acc[i - i0];
          if (kind == Reduce::mean) a = len > 0 ? a / double(len) : 0.0;
          y[o * inner + i] = float(a);
        }
      }
    return;
  }
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

// The gradient of a max along each line (reduce_max, maxout): dx = dy at the line's first
// maximum (strictly greater wins, so ties go to the first), 0 elsewhere.
// The gradient of a mean over the middle axis of [outer, len, inner]: dx = dy / len on
// every line, len the run's count (a batch axis among the reduced ones scales with n).
inline void mean_grad_lines(int64_t outer, int64_t len, int64_t inner, const float* dy, float* dx) {
  float scale = len > 0 ? float(1.0 / double(len)) : 0.0f;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t l = 0; l < len; l++)
      for (int64_t i = 0; i < inner; i++) dx[(o * len + l) * inner + i] = dy[o * inner + i] * scale;
}

inline void max_grad_lines(int64_t outer, int64_t len, int64_t inner, const float* x, const float* dy, float* dx) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float* line = x + o * len * inner + i;
      float* out = dx + o * len * inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < len; k++)
        if (line[k * inner] > line[best * inner]) best = k;
      for (int64_t k = 0; k < len; k++) out[k * inner] = k == best ? dy[o * inner + i] : 0.0f;
    }
}

// y = softmax(x) or log_softmax(x) along each line; y may equal x.
inline void softmax_lines(bool log, int64_t outer, int64_t len, int64_t inner, const float* x,
                          float* y) {
  enable_ftz();
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float* in = x + o * len * inner + i;
      float* out = y + o * len * inner + i;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < len; k++)
        m = m < double(in[k * inner]) ? double(in[k * inner]) : m;
      double z = 0;
      for (int64_t k = 0; k < len; k++)
        z += std::exp(double(in[k * inner]) - m);
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
        double g = log ? double(dy[at]) - std::exp(double(y[at])) * s
                       : double(y[at]) * (double(dy[at]) - s);
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
