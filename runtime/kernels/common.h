// Shared definitions of the kernels: restrict/ivdep hints, the fused activation kinds.
#pragma once

#include <cstdint>

#if defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER)
#define DLC_RT_RESTRICT __restrict
#else
#define DLC_RT_RESTRICT
#endif

// "No loop-carried dependence through memory here": lets GCC vectorise the inner loops
// without runtime alias checks. Clang's equivalent (vectorize(assume_safety)) turns every
// loop it cannot vectorise (calls to exp, tanh) into a -Wpass-failed warning, so Clang
// gets no hint and relies on DLC_RT_RESTRICT and its own alias checks.
#if defined(__GNUC__) && !defined(__clang__)
#define DLC_RT_IVDEP _Pragma("GCC ivdep")
#else
#define DLC_RT_IVDEP
#endif

// Unroll the next loop completely (its trip count is a compile-time constant).
#if defined(__clang__)
#define DLC_RT_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define DLC_RT_UNROLL _Pragma("GCC unroll 64")
#else
#define DLC_RT_UNROLL
#endif

// Inline even at -O2 (the dlc binary's build): for helpers whose arrays of vectors must
// stay in registers, which only happens once they are inlined and unrolled.
#if defined(__GNUC__) || defined(__clang__)
#define DLC_RT_ALWAYS_INLINE __attribute__((always_inline))
#else
#define DLC_RT_ALWAYS_INLINE
#endif

// Inline every call in the function's body, recursively: a generic loop instantiated
// inside a target("avx512f") function then inlines the vector helpers it calls.
#if defined(__GNUC__) || defined(__clang__)
#define DLC_RT_FLATTEN __attribute__((flatten))
#else
#define DLC_RT_FLATTEN
#endif

namespace dlc_rt {

// The activations a kernel can fuse into its epilogue (and the element-wise kernels
// apply on their own). leaky_relu takes its slope from the caller.
enum class Act : int { none = 0, relu = 1, sigmoid = 2, tanh = 3, leaky_relu = 4 };

// What a GEMM or convolution does to each result after alpha*A*B + beta*C:
// v = act(v + bias[column]). bias may be null; slope is leaky_relu's alpha.
struct Epilogue {
  const float* bias = nullptr;
  Act act = Act::none;
  float slope = 0.01f;
};

} // namespace dlc_rt
