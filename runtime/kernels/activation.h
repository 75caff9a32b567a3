// Activations and their gradients, element by element (f32, one pass over memory).
//
// Gradients come in two forms: from the activation's output y (what a fused
// GEMM/conv epilogue keeps: relu, sigmoid, tanh, and leaky_relu with a slope >= 0), or
// from its input x (any slope). At x == 0 relu and leaky_relu take the slope side.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/common.h"

#include <cmath>

namespace dlc_rt {

template <Act A> inline float act_apply(float x, float slope) {
  if constexpr (A == Act::relu) return x > 0.0f ? x : 0.0f;
  else if constexpr (A == Act::sigmoid) return 1.0f / (1.0f + std::exp(-x));
  else if constexpr (A == Act::tanh) return std::tanh(x);
  else if constexpr (A == Act::leaky_relu) return x > 0.0f ? x : slope * x;
  else return x;
}

// d act / d x, written in terms of the output y = act(x).
template <Act A> inline float act_grad_from_output(float y, float slope) {
  if constexpr (A == Act::relu) return y > 0.0f ? 1.0f : 0.0f;
  else if constexpr (A == Act::sigmoid) return y * (1.0f - y);
  else if constexpr (A == Act::tanh) return 1.0f - y * y;
  else if constexpr (A == Act::leaky_relu) return y > 0.0f ? 1.0f : slope;
  else return 1.0f;
}

// d act / d x, in terms of the input x.
template <Act A> inline float act_grad_from_input(float x, float slope) {
  if constexpr (A == Act::relu) return x > 0.0f ? 1.0f : 0.0f;
  else if constexpr (A == Act::sigmoid) {
    float s = 1.0f / (1.0f + std::exp(-x));
    return s * (1.0f - s);
  } else if constexpr (A == Act::tanh) {
    float t = std::tanh(x);
    return 1.0f - t * t;
  } else if constexpr (A == Act::leaky_relu) return x > 0.0f ? 1.0f : slope;
  else return 1.0f;
}

// act(x) for an activation chosen at run time (for cold paths; loops use act_apply<A>).
inline float activate(Act act, float x, float slope) {
  switch (act) {
  case Act::relu: return act_apply<Act::relu>(x, slope);
  case Act::sigmoid: return act_apply<Act::sigmoid>(x, slope);
  case Act::tanh: return act_apply<Act::tanh>(x, slope);
  case Act::leaky_relu: return act_apply<Act::leaky_relu>(x, slope);
  default: return x;
  }
}

namespace act_detail {
template <Act A>
inline void forward(const float* x, float* y, int64_t n, float slope) {
  DLC_RT_IVDEP
  for (int64_t i = 0; i < n; i++) y[i] = act_apply<A>(x[i], slope);
}
template <Act A, bool FromOutput>
inline void backward(const float* v, const float* dy, float* dx, int64_t n, float slope) {
  DLC_RT_IVDEP
  for (int64_t i = 0; i < n; i++)
    dx[i] = dy[i] * (FromOutput ? act_grad_from_output<A>(v[i], slope)
                                : act_grad_from_input<A>(v[i], slope));
}
} // namespace act_detail

// y[i] = act(x[i]); y may equal x (in place).
inline void activation_forward(Act act, const float* x, float* y, int64_t n, float slope = 0.01f) {
  enable_ftz();
  switch (act) {
  case Act::relu: act_detail::forward<Act::relu>(x, y, n, slope); break;
  case Act::sigmoid: act_detail::forward<Act::sigmoid>(x, y, n, slope); break;
  case Act::tanh: act_detail::forward<Act::tanh>(x, y, n, slope); break;
  case Act::leaky_relu: act_detail::forward<Act::leaky_relu>(x, y, n, slope); break;
  default:
    if (y != x) act_detail::forward<Act::none>(x, y, n, slope);
  }
}

// dx[i] = dy[i] * act'(.) from the forward output y; dx may equal dy.
inline void activation_backward_from_output(Act act, const float* y, const float* dy, float* dx,
                                            int64_t n, float slope = 0.01f) {
  enable_ftz();
  switch (act) {
  case Act::relu: act_detail::backward<Act::relu, true>(y, dy, dx, n, slope); break;
  case Act::sigmoid: act_detail::backward<Act::sigmoid, true>(y, dy, dx, n, slope); break;
  case Act::tanh: act_detail::backward<Act::tanh, true>(y, dy, dx, n, slope); break;
  case Act::leaky_relu: act_detail::backward<Act::leaky_relu, true>(y, dy, dx, n, slope); break;
  default: act_detail::backward<Act::none, true>(y, dy, dx, n, slope);
  }
}

// dx[i] = dy[i] * act'(x[i]) from the forward input x; dx may equal dy.
inline void activation_backward_from_input(Act act, const float* x, const float* dy, float* dx,
                                           int64_t n, float slope = 0.01f) {
  enable_ftz();
  switch (act) {
  case Act::relu: act_detail::backward<Act::relu, false>(x, dy, dx, n, slope); break;
  case Act::sigmoid: act_detail::backward<Act::sigmoid, false>(x, dy, dx, n, slope); break;
  case Act::tanh: act_detail::backward<Act::tanh, false>(x, dy, dx, n, slope); break;
  case Act::leaky_relu: act_detail::backward<Act::leaky_relu, false>(x, dy, dx, n, slope); break;
  default: act_detail::backward<Act::none, false>(x, dy, dx, n, slope);
  }
}

} // namespace dlc_rt
