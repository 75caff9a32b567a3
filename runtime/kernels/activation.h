// The activations a GEMM or convolution epilogue applies (dlc_rt::Act), element by
// element: their formulas are the element-wise ops' own (runtime/kernels/scalar.h), so a
// fused epilogue computes the bits the separate op would.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/common.h"
#include "runtime/kernels/scalar.h"

namespace dlc_rt {

template <Act A> inline float act_apply(float x, float slope) {
  if constexpr (A == Act::relu) return dlc_scalar_relu(x);
  else if constexpr (A == Act::sigmoid) return dlc_scalar_sigmoid(x);
  else if constexpr (A == Act::tanh) return dlc_scalar_tanh(x);
  else if constexpr (A == Act::leaky_relu) return dlc_scalar_leaky_relu(x, slope);
  else return x;
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

} // namespace dlc_rt
