// Softmax and the fused softmax + cross-entropy loss (semantics of ir/ops/loss.cpp), over
// logits z[n, c] row-major. The loss is the batch mean of
//   -sum_k y[i,k] * log softmax(z[i])_k = sum_k y[i,k] * (lse(z[i]) - z[i,k])
// computed with log-sum-exp (max subtracted), so large logits neither overflow nor lose
// the loss to rounding. The gradient is (softmax(z) - y) * scale / n, where scale is the
// gradient arriving at the loss (1 for a plain training step).
//
// Sparse variants take integer class labels. A label outside [0, c) makes the loss NaN
// and that row's gradient the plain softmax (no target): callers validate labels when
// they load data (first_bad_label), kernels must never read out of bounds.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/common.h"

#include <cmath>
#include <limits>

namespace dlc_rt {

namespace softmax_detail {

// p = exp(z - max(z)) for one row; returns the sum of p. p may equal z.
inline double exp_shifted_row(const float* z, float* p, int64_t c) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < c; k++) m = z[k] > m ? z[k] : m;
  double s = 0;
  for (int64_t k = 0; k < c; k++) {
    p[k] = std::exp(z[k] - m);
    s += double(p[k]);
  }
  return s;
}

// log(sum exp(z)) of one row, without writing probabilities.
inline double lse_row(const float* z, int64_t c) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < c; k++) m = z[k] > m ? z[k] : m;
  double s = 0;
  for (int64_t k = 0; k < c; k++) s += double(std::exp(z[k] - m));
  return double(m) + std::log(s);
}

// dz[row] = (softmax(z[row]) - target) * f, target given as dense y or as a label.
inline void grad_row(const float* z, const float* y, int64_t label, float* dz, int64_t c,
                     float f) {
  double lse = lse_row(z, c);
  for (int64_t k = 0; k < c; k++) {
    float target = y ? y[k] : (k == label ? 1.0f : 0.0f);
    dz[k] = (float(std::exp(double(z[k]) - lse)) - target) * f;
  }
}

} // namespace softmax_detail

// p[i, :] = softmax(z[i, :]); p may equal z.
inline void softmax_forward(int64_t n, int64_t c, const float* z, float* p) {
  enable_ftz();
  for (int64_t i = 0; i < n; i++) {
    float inv = float(1.0 / softmax_detail::exp_shifted_row(z + i * c, p + i * c, c));
    for (int64_t k = 0; k < c; k++) p[i * c + k] *= inv;
  }
}

// Mean cross-entropy of softmax(z) against dense targets y[n, c] (one-hot or soft).
inline float softmax_cross_entropy_forward(int64_t n, int64_t c, const float* z, const float* y) {
  enable_ftz();
  double total = 0;
  for (int64_t i = 0; i < n; i++) {
    double lse = softmax_detail::lse_row(z + i * c, c);
    for (int64_t k = 0; k < c; k++) total += double(y[i * c + k]) * (lse - double(z[i * c + k]));
  }
  return n > 0 ? float(total / double(n)) : 0.0f;
}

// dz = (softmax(z) - y) * scale / n.
inline void softmax_cross_entropy_backward(int64_t n, int64_t c, const float* z, const float* y,
                                           float* dz, float scale = 1.0f) {
  enable_ftz();
  float f = n > 0 ? scale / float(n) : 0.0f;
  for (int64_t i = 0; i < n; i++)
    softmax_detail::grad_row(z + i * c, y + i * c, -1, dz + i * c, c, f);
}

// The class a label names, or -1 when it is not an integer in [0, c) (NaN included).
template <class Label> int64_t label_index(Label label, int64_t c) {
  double d = double(label);
  if (!(d >= 0 && d < double(c))) return -1;
  int64_t i = int64_t(d);
  return double(i) == d ? i : -1;
}

// Index of the first invalid label, or -1 when all are valid.
template <class Label> int64_t first_bad_label(int64_t n, int64_t c, const Label* labels) {
  for (int64_t i = 0; i < n; i++)
    if (label_index(labels[i], c) < 0) return i;
  return -1;
}

// Mean cross-entropy against integer class labels (any integer or float label type).
template <class Label>
float sparse_softmax_cross_entropy_forward(int64_t n, int64_t c, const float* z,
                                           const Label* labels) {
  enable_ftz();
  if (first_bad_label(n, c, labels) >= 0) return std::numeric_limits<float>::quiet_NaN();
  double total = 0;
  for (int64_t i = 0; i < n; i++)
    total += softmax_detail::lse_row(z + i * c, c) - double(z[i * c + label_index(labels[i], c)]);
  return n > 0 ? float(total / double(n)) : 0.0f;
}

// dz = (softmax(z) - onehot(label)) * scale / n.
template <class Label>
void sparse_softmax_cross_entropy_backward(int64_t n, int64_t c, const float* z,
                                           const Label* labels, float* dz, float scale = 1.0f) {
  enable_ftz();
  float f = n > 0 ? scale / float(n) : 0.0f;
  for (int64_t i = 0; i < n; i++)
    softmax_detail::grad_row(z + i * c, nullptr, label_index(labels[i], c), dz + i * c, c, f);
}

} // namespace dlc_rt
