// The element-wise ops of fused kernel bodies (passes::is_body_op) as scalar f32
// functions: what emitted C++ calls for every body expression (codegen/lowering.h).
//
// Each formula is the reference interpreter's (ir/interp/eval_elementwise.cpp,
// eval_grad.cpp, eval_optimizer.cpp) written in f32, operation by operation and in the
// same order as the LLVM backend builds it (codegen/llvm/scalar_ops.cpp,
// scalar_updates.cpp), so that the two backends round identically. Comparisons are the
// interpreter's, so NaN takes the same branch. Coefficients that depend only on
// hyper-parameters and f32[] scalars (Adam's bias corrections, Nadam's schedule) are
// computed in double and rounded once.
#pragma once

#include "runtime/rng.h"

#include <cmath>
#include <cstdint>

namespace dlc_rt::scalar {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float tanh(float x) { return std::tanh(x); }
inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
// x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)), without overflow for large |x|.
inline float softplus(float x) {
  float l = std::log1p(std::exp(x > 0.0f ? -x : x));
  return x > 0.0f ? x + l : l;
}
inline float exp(float x) { return std::exp(x); }
inline float log(float x) { return std::log(x); }
inline float neg(float x) { return -x; }
inline float sqrt(float x) { return std::sqrt(x); }
inline float square(float x) { return x * x; }
inline float abs(float x) { return std::fabs(x); }
inline float sign(float x) { return float(x > 0.0f) - float(x < 0.0f); }
inline float leaky_relu(float x, float alpha) { return x > 0.0f ? x : alpha * x; }
inline float scale(float x, float s, float offset) { return offset == 0.0f ? x * s : x * s + offset; }

inline float add(float a, float b) { return a + b; }
inline float sub(float a, float b) { return a - b; }
inline float mul(float a, float b) { return a * b; }
inline float div(float a, float b) { return a / b; }
// std::max(a, b) is (a < b) ? b : a; std::min(a, b) is (b < a) ? b : a.
inline float maximum(float a, float b) { return a < b ? b : a; }
inline float minimum(float a, float b) { return b < a ? b : a; }
inline float bias_add(float x, float b) { return x + b; }
inline float prelu(float x, float slope) { return x > 0.0f ? x : slope * x; }

// Inverted dropout: element i of stream k at step s is kept when
// rng_uniform(seed, (k << 32) + s, i) >= rate; kept elements are scaled by 1 / (1 - rate).
inline float dropout(float x, double rate, uint64_t stream_id, uint64_t seed, uint64_t step, int64_t training,
                     int64_t i) {
  if (!training || rate == 0.0) return x;
  uint64_t stream = (stream_id << 32) + step;
  bool keep = rng_uniform(seed, stream, uint64_t(i)) >= float(rate);
  return keep ? x * float(1.0 / (1.0 - rate)) : 0.0f;
}

inline float relu_grad(float x, float dy) { return x > 0.0f ? dy : 0.0f; }
inline float leaky_relu_grad(float x, float dy, float alpha) { return x > 0.0f ? dy : alpha * dy; }
inline float sigmoid_grad(float y, float dy) { return dy * y * (1.0f - y); }
inline float tanh_grad(float y, float dy) { return dy * (1.0f - y * y); }
inline float prelu_grad_input(float x, float slope, float dy) { return x > 0.0f ? dy : slope * dy; }
// dy where the chosen operand (`operand`: 0 for a, 1 for b) wins; ties go to a.
inline float maximum_grad(float a, float b, float dy, int64_t operand) {
  bool a_wins = a >= b;
  return (operand == 0 ? a_wins : !a_wins) ? dy : 0.0f;
}
inline float minimum_grad(float a, float b, float dy, int64_t operand) {
  bool a_wins = a <= b;
  return (operand == 0 ? a_wins : !a_wins) ? dy : 0.0f;
}

// --- optimizer updates: slots are read and replaced in place; returns the new param ---

// The gradient an update uses: times the global-norm clip scale, clipped by value
// (clip > 0), plus coupled weight decay.
inline float prepare_grad(float g, float grad_scale, float clip, float decay, float p) {
  g = g * grad_scale;
  if (clip > 0.0f) {
    g = g < -clip ? -clip : g;
    g = clip < g ? clip : g;
  }
  return decay != 0.0f ? g + decay * p : g;
}
// Decoupled weight decay (AdamW): new - lr * decoupled * p.
inline float decoupled_decay(float updated, float p, float lr, float decoupled) {
  return decoupled != 0.0f ? updated - lr * decoupled * p : updated;
}

// decay * s + (1 - decay) * g * g: the running mean of squares.
inline float mean_square(float s, float decay, float one_minus_decay, float g) {
  return decay * s + one_minus_decay * g * g;
}
// 1 - base^t, in double, rounded once.
inline float one_minus_pow(double base, float t) { return float(1.0 - std::pow(base, double(t))); }

inline float sgd_update(float p, float g, float lr) { return p - lr * g; }
inline float momentum_update(float p, float g, float& v, float lr, float mu, bool nesterov) {
  v = mu * v - lr * g;
  return nesterov ? (p + mu * v) - lr * g : p + v;
}
inline float adagrad_update(float p, float g, float& acc, float lr, float eps) {
  acc = acc + g * g;
  return p - lr * g / (std::sqrt(acc) + eps);
}
inline float rmsprop_update(float p, float g, float& ms, float lr, double rho, float eps) {
  ms = mean_square(ms, float(rho), float(1 - rho), g);
  return p - lr * g / (std::sqrt(ms) + eps);
}
inline float adadelta_update(float p, float g, float& s, float& d2, float lr, double rho, float eps) {
  s = mean_square(s, float(rho), float(1 - rho), g);
  float d = std::sqrt(d2 + eps) / std::sqrt(s + eps) * g;
  d2 = mean_square(d2, float(rho), float(1 - rho), d);
  return p - lr * d;
}
// Adam's bias corrections 1 - b1^t and 1 - b2^t: the same for every element of a step,
// so emitted code computes them once per loop (adam_correction) when t is loop-invariant.
struct AdamCorrection {
  float bc1, bc2;
};
inline AdamCorrection adam_correction(double b1, double b2, float t) {
  return {one_minus_pow(b1, t), one_minus_pow(b2, t)};
}
inline float adam_update(float p, float g, float& m, float& v, float lr, AdamCorrection c, double b1, double b2,
                         float eps) {
  m = float(b1) * m + float(1 - b1) * g;
  v = mean_square(v, float(b2), float(1 - b2), g);
  float denom = std::sqrt(v / c.bc2) + eps;
  return p - lr * (m / c.bc1) / denom;
}
inline float adam_update(float p, float g, float& m, float& v, float lr, float t, double b1, double b2,
                         float eps) {
  return adam_update(p, g, m, v, lr, adam_correction(b1, b2, t), b1, b2, eps);
}
// Nadam's mu at step t: beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), in double.
inline double nadam_mu(double b1, double momentum_decay, double t) {
  return b1 * (1.0 - 0.5 * std::pow(0.96, t * momentum_decay));
}
inline float nadam_update(float p, float g, float& m, float& v, float lr, float t, float prod, double b1,
                          double b2, float eps, double momentum_decay) {
  m = float(b1) * m + float(1 - b1) * g;
  v = mean_square(v, float(b2), float(1 - b2), g);
  float denom = std::sqrt(v / one_minus_pow(b2, t)) + eps;
  double mu = nadam_mu(b1, momentum_decay, double(t)), mu_next = nadam_mu(b1, momentum_decay, double(t) + 1);
  float grad_coef = float((1.0 - mu) / (1.0 - double(prod)));
  float m_coef = float(mu_next / (1.0 - double(prod) * mu_next));
  return p - lr * (grad_coef * g + m_coef * m) / denom;
}
// P_t = P_{t-1} * mu_t: the scalar state Nadam's updates share.
inline float nadam_mu_product(float prod, float t, double b1, double momentum_decay) {
  return prod * float(nadam_mu(b1, momentum_decay, double(t)));
}

} // namespace dlc_rt::scalar
