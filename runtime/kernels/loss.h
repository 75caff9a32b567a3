// The element-wise losses and their gradients (semantics of ir/interp/eval_loss.cpp and
// eval_grad_loss.cpp): means over `count` elements, accumulated in double. The
// cross-entropies over class rows are in softmax_ce.h.
#pragma once

#include "runtime/ftz.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dlc_rt {

namespace loss_detail {
constexpr double kBceEps = 1e-7; // predictions are clamped to [eps, 1 - eps]
inline float mean(double total, int64_t count) { return count > 0 ? float(total / double(count)) : 0.0f; }
} // namespace loss_detail

inline float mse_forward(int64_t count, const float* p, const float* y) {
  enable_ftz();
  double s = 0;
  for (int64_t i = 0; i < count; i++) {
    double d = double(p[i]) - double(y[i]);
    s += d * d;
  }
  return loss_detail::mean(s, count);
}

// dp = 2 * (p - y) * dloss / count.
inline void mse_backward(int64_t count, const float* p, const float* y, float dloss, float* dp) {
  enable_ftz();
  double scale = count > 0 ? 2.0 * double(dloss) / double(count) : 0.0;
  for (int64_t i = 0; i < count; i++) dp[i] = float((double(p[i]) - double(y[i])) * scale);
}

inline float bce_forward(int64_t count, const float* p, const float* y) {
  enable_ftz();
  using loss_detail::kBceEps;
  double s = 0;
  for (int64_t i = 0; i < count; i++) {
    double q = std::min(std::max(double(p[i]), kBceEps), 1 - kBceEps);
    s -= double(y[i]) * std::log(q) + (1 - double(y[i])) * std::log(1 - q);
  }
  return loss_detail::mean(s, count);
}

// Zero where the forward clamp made the loss flat in p.
inline void bce_backward(int64_t count, const float* p, const float* y, float dloss, float* dp) {
  enable_ftz();
  using loss_detail::kBceEps;
  double scale = count > 0 ? double(dloss) / double(count) : 0.0;
  for (int64_t i = 0; i < count; i++) {
    double q = p[i];
    dp[i] = float(q < kBceEps || q > 1 - kBceEps ? 0.0 : (q - double(y[i])) / (q * (1 - q)) * scale);
  }
}

// Binary cross-entropy of sigmoid(z), computed from the logits without overflow.
inline float sigmoid_bce_forward(int64_t count, const float* z, const float* y) {
  enable_ftz();
  double s = 0;
  for (int64_t i = 0; i < count; i++) {
    double v = z[i];
    s += std::max(v, 0.0) - v * double(y[i]) + std::log1p(std::exp(-std::fabs(v)));
  }
  return loss_detail::mean(s, count);
}

inline void sigmoid_bce_backward(int64_t count, const float* z, const float* y, float dloss, float* dz) {
  enable_ftz();
  double scale = count > 0 ? double(dloss) / double(count) : 0.0;
  for (int64_t i = 0; i < count; i++) dz[i] = float((1 / (1 + std::exp(-double(z[i]))) - double(y[i])) * scale);
}

} // namespace dlc_rt
