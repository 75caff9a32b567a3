// The f32 formula of every element-wise op of kernel bodies (ir::OpDef::scalar), written
// once: emitted C++ calls these functions, and the JIT calls the same functions compiled
// to LLVM bitcode at build time and inlined into its loops (codegen/llvm/scalar_bitcode.cpp,
// Glow's libjit design), so that the two backends compute the same bits by construction.
//
// The calling convention is the op table's (ir/op.h, ScalarForm): `dlc_scalar_<op>` takes
// the op's operands as f32 (an optimizer's state slots as float&, replaced in place), the
// values of absent optional operands, the attributes in the order the op lists them, and,
// for ops that draw random numbers, the run's seed, step and training flag and the
// element's index. It returns the op's result (an update: the new parameter).
//
// Each formula is the reference interpreter's (ir/interp/eval_*.cpp) written in f32,
// operation by operation; sigmoid and tanh use the vectorisable exp_f32 and tanh_f32
// below instead of libm's. Comparisons are the interpreter's, so NaN takes the same
// branch. Values that depend only on hyper-parameters and per-step scalars (Adam's bias
// corrections, Nadam's coefficients) are ops of their own, computed once per step in
// double and rounded once (ir/ops/optimizer_ops.cpp).
//
// DLC_SCALAR is `inline` for emitted code and dlc itself; the bitcode build defines it
// empty so that every function is emitted.
#pragma once

#include "runtime/rng.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#ifndef DLC_SCALAR
#define DLC_SCALAR inline
#endif

// Before the inner loop of an emitted element-wise nest: its iterations are independent
// (each writes its own elements; an output shares memory with an input only where both
// are read and written at the same index, passes/kernel.h's in_place), which the
// compilers cannot always prove when the operands lie in one arena at offsets the row
// index reaches (g++ 12 then vectorises neither loop of the nest).
#if defined(__clang__)
#define DLC_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define DLC_IVDEP _Pragma("GCC ivdep")
#else
#define DLC_IVDEP
#endif

namespace dlc_rt::scalar_detail {

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
inline float mean_square(float s, double decay, float g) { return float(decay) * s + float(1 - decay) * g * g; }
// Nadam's mu at step t: beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), in double.
inline double nadam_mu(double b1, double momentum_decay, double t) {
  return b1 * (1.0 - 0.5 * std::pow(0.96, t * momentum_decay));
}

// SELU's constants (Klambauer et al. 2017), as PyTorch and Keras write them; GELU's.
constexpr float kSeluAlpha = 1.67326324235437728481f, kSeluScale = 1.05070098735548049342f;
constexpr float kSqrtHalf = 0.70710678118654752440f, kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f, kGeluCubic = 0.044715f;

// exp and tanh in plain f32 arithmetic (Cephes's expf and tanhf: range reduction and
// minimax polynomials, within 2 ulp of the exact values), so that element-wise loops of
// sigmoid and tanh vectorise in both backends: a call of libm's expf or tanhf in a loop
// body keeps it scalar (an LSTM step's gates spent ~45% of training in them). No branch:
// both ranges of tanh are computed and one is selected, which vectorises as a blend.
inline float exp_f32(float in) {
  float x = in > -87.33654f ? in : -87.33654f; // 2^-126: the smallest normal result (NaN lands here too)
  x = x < 88.72283f ? x : 88.72283f;           // FLT_MAX
  const float kRound = 12582912.0f;    // 1.5 * 2^23: adding it rounds to an integer
  float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f; // x - n ln 2, ln 2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n from the exponent bits (n in [-126, 128]; 2^128 as 2 * 2^127).
  int32_t e = int32_t(n) + 127;
  int32_t half = e > 254 ? 1 : 0;
  uint32_t bits = uint32_t(e - half) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  float y = half ? p * scale * 2.0f : p * scale;
  return in != in ? in : y; // NaN stays NaN
}
inline float tanh_f32(float x) {
  float a = x < 0.0f ? -x : x;
  float z = x * x; // |x| < 0.625: x + x^3 P(x^2)
  float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
                 3.33332819422e-1f) * z * x + x;
  float large = 1.0f - 2.0f / (exp_f32(a + a) + 1.0f); // 1 for |x| > 9.1
  large = x < 0.0f ? -large : large;
  return a < 0.625f ? small : large;
}

} // namespace dlc_rt::scalar_detail

extern "C" {

// ---- activations and arithmetic

DLC_SCALAR float dlc_scalar_sigmoid(float x) { return 1.0f / (1.0f + dlc_rt::scalar_detail::exp_f32(-x)); }
DLC_SCALAR float dlc_scalar_tanh(float x) { return dlc_rt::scalar_detail::tanh_f32(x); }
DLC_SCALAR float dlc_scalar_relu(float x) { return x > 0.0f ? x : 0.0f; }
// x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)), without overflow for large |x|.
DLC_SCALAR float dlc_scalar_softplus(float x) {
  float l = std::log1p(std::exp(x > 0.0f ? -x : x));
  return x > 0.0f ? x + l : l;
}
DLC_SCALAR float dlc_scalar_exp(float x) { return std::exp(x); }
DLC_SCALAR float dlc_scalar_log(float x) { return std::log(x); }
DLC_SCALAR float dlc_scalar_neg(float x) { return -x; }
DLC_SCALAR float dlc_scalar_sqrt(float x) { return std::sqrt(x); }
DLC_SCALAR float dlc_scalar_square(float x) { return x * x; }
DLC_SCALAR float dlc_scalar_abs(float x) { return std::fabs(x); }
DLC_SCALAR float dlc_scalar_sign(float x) { return float(x > 0.0f) - float(x < 0.0f); }
DLC_SCALAR float dlc_scalar_leaky_relu(float x, float alpha) { return x > 0.0f ? x : alpha * x; }
DLC_SCALAR float dlc_scalar_scale(float x, float scale, float offset) {
  return offset == 0.0f ? x * scale : x * scale + offset;
}

DLC_SCALAR float dlc_scalar_add(float a, float b) { return a + b; }
DLC_SCALAR float dlc_scalar_sub(float a, float b) { return a - b; }
DLC_SCALAR float dlc_scalar_mul(float a, float b) { return a * b; }
DLC_SCALAR float dlc_scalar_div(float a, float b) { return a / b; }
// std::max(a, b) is (a < b) ? b : a; std::min(a, b) is (b < a) ? b : a.
DLC_SCALAR float dlc_scalar_maximum(float a, float b) { return a < b ? b : a; }
DLC_SCALAR float dlc_scalar_minimum(float a, float b) { return b < a ? b : a; }
DLC_SCALAR float dlc_scalar_bias_add(float x, float b) { return x + b; }
DLC_SCALAR float dlc_scalar_prelu(float x, float slope) { return x > 0.0f ? x : slope * x; }

// Inverted dropout: element i of stream k at step s is kept when
// rng_uniform(seed, (k << 32) + s, i) >= rate; kept elements are scaled by 1 / (1 - rate).
DLC_SCALAR float dlc_scalar_dropout(float x, double rate, int64_t stream, uint64_t seed, uint64_t step,
                                    int64_t training, int64_t i) {
  if (!training || rate == 0.0) return x;
  bool keep = dlc_rt::rng_uniform(seed, dlc_rt::rng_step_stream(stream, step), uint64_t(i)) >= float(rate);
  return keep ? x * float(1.0 / (1.0 - rate)) : 0.0f;
}

// GaussianNoise, GaussianDropout and SpatialDropout2D (ir/ops/elementwise.cpp): the
// noise of element i of stream k at step s is drawn at counter i (key for spatial).
DLC_SCALAR float dlc_scalar_gaussian_noise(float x, double stddev, int64_t stream, uint64_t seed, uint64_t step,
                                           int64_t training, int64_t i) {
  if (!training || stddev == 0.0) return x;
  return x + float(stddev * dlc_rt::rng_normal(seed, dlc_rt::rng_step_stream(stream, step), uint64_t(i)));
}
DLC_SCALAR float dlc_scalar_gaussian_dropout(float x, double rate, int64_t stream, uint64_t seed, uint64_t step,
                                             int64_t training, int64_t i) {
  if (!training || rate == 0.0) return x;
  double n = dlc_rt::rng_normal(seed, dlc_rt::rng_step_stream(stream, step), uint64_t(i));
  return x * float(1.0 + std::sqrt(rate / (1.0 - rate)) * n);
}
DLC_SCALAR float dlc_scalar_spatial_dropout(float x, double rate, int64_t stream, int64_t channels, int64_t block,
                                            uint64_t seed, uint64_t step, int64_t training, int64_t i) {
  if (!training || rate == 0.0) return x;
  uint64_t key = uint64_t(i / block * channels + i % channels);
  bool keep = dlc_rt::rng_uniform(seed, dlc_rt::rng_step_stream(stream, step), key) >= float(rate);
  return keep ? x * float(1.0 / (1.0 - rate)) : 0.0f;
}

// One uniform factor in [lower, upper) per block of elements (random_factor).
DLC_SCALAR float dlc_scalar_random_factor(float, double lower, double upper, int64_t stream, int64_t block,
                                          uint64_t seed, uint64_t step, int64_t training, int64_t i) {
  if (!training) return 1.0f;
  float u = dlc_rt::rng_uniform(seed, dlc_rt::rng_step_stream(stream, step), uint64_t(i / block));
  return float(lower + (upper - lower) * double(u));
}

// The training phase's operand or the inference phase's (ir/ops/elementwise.cpp).
DLC_SCALAR float dlc_scalar_phase_select(float train, float infer, uint64_t, uint64_t, int64_t training, int64_t) {
  return training ? train : infer;
}

// ---- activations whose derivative is computed from x: name(x, attrs), name_grad(x, dy, attrs)

DLC_SCALAR float dlc_scalar_elu(float x, float alpha) { return x > 0.0f ? x : alpha * std::expm1(x); }
DLC_SCALAR float dlc_scalar_elu_grad(float x, float dy, float alpha) { return x > 0.0f ? dy : dy * (alpha * std::exp(x)); }

DLC_SCALAR float dlc_scalar_selu(float x) {
  using namespace dlc_rt::scalar_detail;
  return kSeluScale * (x > 0.0f ? x : kSeluAlpha * std::expm1(x));
}
DLC_SCALAR float dlc_scalar_selu_grad(float x, float dy) {
  using namespace dlc_rt::scalar_detail;
  return dy * (x > 0.0f ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(x));
}

// GELU: x Phi(x) with the normal CDF through erf, or (approximate) tanh's approximation.
DLC_SCALAR float dlc_scalar_gelu(float x, int64_t approximate) {
  using namespace dlc_rt::scalar_detail;
  if (approximate) return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
  return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf));
}
DLC_SCALAR float dlc_scalar_gelu_grad(float x, float dy, int64_t approximate) {
  using namespace dlc_rt::scalar_detail;
  if (approximate) {
    float t = std::tanh(kSqrt2OverPi * (x + kGeluCubic * x * x * x));
    return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x));
  }
  return dy * (0.5f * (1.0f + std::erf(x * kSqrtHalf)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x));
}

// SiLU (swish): x sigmoid(x).
DLC_SCALAR float dlc_scalar_silu(float x) { return x / (1.0f + std::exp(-x)); }
DLC_SCALAR float dlc_scalar_silu_grad(float x, float dy) {
  float s = 1.0f / (1.0f + std::exp(-x));
  return dy * (s * (1.0f + x * (1.0f - s)));
}

// clamp(x / 6 + 1/2, 0, 1) (PyTorch's Hardsigmoid, Keras 3's hard_sigmoid). At the kinks
// the left derivative: 0 at x = -3, 1/6 at x = 3.
DLC_SCALAR float dlc_scalar_hard_sigmoid(float x) {
  float y = x / 6.0f + 0.5f;
  return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
}
DLC_SCALAR float dlc_scalar_hard_sigmoid_grad(float x, float dy) {
  return x > -3.0f && x <= 3.0f ? dy / 6.0f : 0.0f;
}

// Mish: x tanh(softplus(x)).
DLC_SCALAR float dlc_scalar_mish(float x) { return x * std::tanh(dlc_scalar_softplus(x)); }
DLC_SCALAR float dlc_scalar_mish_grad(float x, float dy) {
  float t = std::tanh(dlc_scalar_softplus(x)), s = 1.0f / (1.0f + std::exp(-x));
  return dy * (t + x * s * (1.0f - t * t));
}

DLC_SCALAR float dlc_scalar_softsign(float x) { return x / (1.0f + std::fabs(x)); }
DLC_SCALAR float dlc_scalar_softsign_grad(float x, float dy) {
  float d = 1.0f + std::fabs(x);
  return dy / (d * d);
}

// ---- gradients

DLC_SCALAR float dlc_scalar_relu_grad(float x, float dy) { return x > 0.0f ? dy : 0.0f; }
DLC_SCALAR float dlc_scalar_leaky_relu_grad(float x, float dy, float alpha) { return x > 0.0f ? dy : alpha * dy; }
DLC_SCALAR float dlc_scalar_sigmoid_grad(float y, float dy) { return dy * y * (1.0f - y); }
DLC_SCALAR float dlc_scalar_tanh_grad(float y, float dy) { return dy * (1.0f - y * y); }
DLC_SCALAR float dlc_scalar_prelu_grad_input(float x, float slope, float dy) { return x > 0.0f ? dy : slope * dy; }
// dy where the chosen operand (`operand`: 0 for a, 1 for b) wins; ties go to a.
DLC_SCALAR float dlc_scalar_maximum_grad(float a, float b, float dy, int64_t operand) {
  bool a_wins = a >= b;
  return (operand == 0 ? a_wins : !a_wins) ? dy : 0.0f;
}
DLC_SCALAR float dlc_scalar_minimum_grad(float a, float b, float dy, int64_t operand) {
  bool a_wins = a <= b;
  return (operand == 0 ? a_wins : !a_wins) ? dy : 0.0f;
}

// ---- optimizer updates: (param, grad, slots&..., scalars..., grad_scale, hypers...,
// clip_value, weight_decay, decoupled_weight_decay) -> new param

DLC_SCALAR float dlc_scalar_sgd_update(float p, float g, float lr, float grad_scale, float clip, float decay,
                                       float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  return decoupled_decay(p - lr * g, p, lr, decoupled);
}
DLC_SCALAR float dlc_scalar_momentum_update(float p, float g, float& v, float lr, float grad_scale, float mu,
                                            int64_t nesterov, float clip, float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  v = mu * v - lr * g;
  return decoupled_decay(nesterov ? (p + mu * v) - lr * g : p + v, p, lr, decoupled);
}
DLC_SCALAR float dlc_scalar_adagrad_update(float p, float g, float& acc, float lr, float grad_scale, float eps,
                                           float clip, float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  acc = acc + g * g;
  return decoupled_decay(p - lr * g / (std::sqrt(acc) + eps), p, lr, decoupled);
}
DLC_SCALAR float dlc_scalar_rmsprop_update(float p, float g, float& ms, float lr, float grad_scale, double rho,
                                           float eps, float clip, float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  ms = mean_square(ms, rho, g);
  return decoupled_decay(p - lr * g / (std::sqrt(ms) + eps), p, lr, decoupled);
}
// Momentum over RMSProp's step, with lr inside the velocity as momentum_update keeps it.
DLC_SCALAR float dlc_scalar_rmsprop_momentum_update(float p, float g, float& ms, float& v, float lr, float grad_scale,
                                                    double rho, float eps, float mu, float clip, float decay,
                                                    float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  ms = mean_square(ms, rho, g);
  v = mu * v - lr * g / (std::sqrt(ms) + eps);
  return decoupled_decay(p + v, p, lr, decoupled);
}
// The second moment centred by the running mean of the gradient (its variance).
DLC_SCALAR float dlc_scalar_centered_rmsprop_update(float p, float g, float& ms, float& mg, float& v, float lr,
                                                    float grad_scale, double rho, float eps, float mu, float clip,
                                                    float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  ms = mean_square(ms, rho, g);
  mg = float(rho) * mg + float(1 - rho) * g;
  float var = ms - mg * mg;
  var = var < 0.0f ? 0.0f : var;
  v = mu * v - lr * g / (std::sqrt(var) + eps);
  return decoupled_decay(p + v, p, lr, decoupled);
}
DLC_SCALAR float dlc_scalar_adadelta_update(float p, float g, float& s, float& d2, float lr, float grad_scale,
                                            double rho, float eps, float clip, float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  s = mean_square(s, rho, g);
  float d = std::sqrt(d2 + eps) / std::sqrt(s + eps) * g;
  d2 = mean_square(d2, rho, d);
  return decoupled_decay(p - lr * d, p, lr, decoupled);
}
// bc1 = 1 - beta1^t and bc2 = 1 - beta2^t come from bias_correction.
DLC_SCALAR float dlc_scalar_adam_update(float p, float g, float& m, float& v, float lr, float bc1, float bc2,
                                        float grad_scale, double b1, double b2, float eps, float clip, float decay,
                                        float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  m = float(b1) * m + float(1 - b1) * g;
  v = mean_square(v, b2, g);
  float denom = std::sqrt(v / bc2) + eps;
  return decoupled_decay(p - lr * (m / bc1) / denom, p, lr, decoupled);
}
// Adam whose denominator uses the largest second moment seen so far (v_max).
DLC_SCALAR float dlc_scalar_amsgrad_update(float p, float g, float& m, float& v, float& v_max, float lr, float bc1,
                                           float bc2, float grad_scale, double b1, double b2, float eps, float clip,
                                           float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  m = float(b1) * m + float(1 - b1) * g;
  v = mean_square(v, b2, g);
  v_max = v_max < v ? v : v_max;
  float denom = std::sqrt(v_max / bc2) + eps;
  return decoupled_decay(p - lr * (m / bc1) / denom, p, lr, decoupled);
}
// grad_coef, m_coef from nadam_grad_coef / nadam_momentum_coef, bc2 from bias_correction.
DLC_SCALAR float dlc_scalar_nadam_update(float p, float g, float& m, float& v, float lr, float grad_coef,
                                         float m_coef, float bc2, float grad_scale, double b1, double b2, float eps,
                                         float clip, float decay, float decoupled) {
  using namespace dlc_rt::scalar_detail;
  g = prepare_grad(g, grad_scale, clip, decay, p);
  m = float(b1) * m + float(1 - b1) * g;
  v = mean_square(v, b2, g);
  float denom = std::sqrt(v / bc2) + eps;
  return decoupled_decay(p - lr * (grad_coef * g + m_coef * m) / denom, p, lr, decoupled);
}

// ---- per-step optimizer scalars (f32[] values, once per step)

// 1 - beta^t, in double, rounded once.
DLC_SCALAR float dlc_scalar_bias_correction(float t, double beta) { return float(1.0 - std::pow(beta, double(t))); }
// P_t = P_{t-1} * mu_t: the product of Nadam's momentum coefficients.
DLC_SCALAR float dlc_scalar_nadam_mu_product(float prod, float t, double b1, double momentum_decay) {
  return prod * float(dlc_rt::scalar_detail::nadam_mu(b1, momentum_decay, double(t)));
}
// (1 - mu_t) / (1 - P_t): the weight of the gradient in Nadam's step.
DLC_SCALAR float dlc_scalar_nadam_grad_coef(float t, float prod, double b1, double momentum_decay) {
  double mu = dlc_rt::scalar_detail::nadam_mu(b1, momentum_decay, double(t));
  return float((1.0 - mu) / (1.0 - double(prod)));
}
// mu_{t+1} / (1 - P_t mu_{t+1}): the weight of the momentum in Nadam's step.
DLC_SCALAR float dlc_scalar_nadam_momentum_coef(float t, float prod, double b1, double momentum_decay) {
  double mu_next = dlc_rt::scalar_detail::nadam_mu(b1, momentum_decay, double(t) + 1);
  return float(mu_next / (1.0 - double(prod) * mu_next));
}

} // extern "C"
