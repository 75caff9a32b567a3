// AVX-512 support shared by the kernels: whether it is compiled in, whether this CPU can
// run it, and vector versions of the fused activations for the kernels' epilogues.
//
// AVX-512 code is compiled in when the target has it (__AVX512F__, then always used), or,
// on x86-64 GCC/Clang builds for a generic target, compiled with a target attribute and
// chosen at run time when the CPU and OS support it (define DLC_RT_NO_DISPATCH to keep
// such a build portable-only, e.g. where cpuid may not run). The dlc binary is such a
// generic build: the JIT's kernels pick their AVX-512 paths at run time.
#pragma once

#include "runtime/kernels/common.h"

#include <cstdint>

#if defined(__AVX512F__)
#define DLC_RT_HAVE_AVX512 1
#define DLC_RT_TARGET_AVX512
#include <immintrin.h>
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&                          \
    !defined(DLC_RT_NO_DISPATCH)
#define DLC_RT_HAVE_AVX512 1
#define DLC_RT_AVX512_RUNTIME_CHECK 1
#define DLC_RT_TARGET_AVX512 __attribute__((target("avx512f")))
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace dlc_rt {

// True when the AVX-512 kernel is compiled in and this CPU and OS can run it.
inline bool avx512_usable() {
#if defined(DLC_RT_AVX512_RUNTIME_CHECK)
  static const bool usable = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false; // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 0xE6u) != 0xE6u) return false; // OS saves xmm, ymm, opmask and zmm state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & (1u << 16)) != 0; // AVX512F
  }();
  return usable;
#elif defined(DLC_RT_HAVE_AVX512)
  return true;
#else
  return false;
#endif
}

#ifdef DLC_RT_HAVE_AVX512
namespace simd {

// Lanes [0, count) of a 16-lane vector (count may exceed 16).
inline __mmask16 lanes(int64_t count) {
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (count > 0 ? count : 0)) - 1);
}

// min/max keeping a NaN in x (MIN(a, b) returns b when either is NaN). Here and below the
// maskz forms with every lane set: GCC 12's plain forms of several AVX-512 intrinsics
// (min, max, roundscale, scalef, andnot) pass an undefined operand that
// -Wmaybe-uninitialized reports in every caller.
DLC_RT_TARGET_AVX512 inline __m512 clamp(__m512 x, float lo, float hi) {
  x = _mm512_maskz_min_ps(0xFFFF, _mm512_set1_ps(hi), x);
  return _mm512_maskz_max_ps(0xFFFF, _mm512_set1_ps(lo), x);
}

// e^x, 16 lanes: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact n ln2),
// e^r by Cephes's degree-6 polynomial, then r scaled by 2^n (vscalefps: no overflow
// before the end). Within 2 ulp of expf; overflows to +inf, underflows to 0, keeps NaN.
DLC_RT_TARGET_AVX512 inline __m512 exp(__m512 x) {
  x = clamp(x, -104.0f, 88.8f);
  __m512 n =
      _mm512_maskz_roundscale_ps(0xFFFF, _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_scalef_ps(0xFFFF, p, n);
}

// 1 / (1 + e^-x).
DLC_RT_TARGET_AVX512 inline __m512 sigmoid(__m512 x) {
  __m512 one = _mm512_set1_ps(1.0f);
  __m512 e = exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

// tanh: an odd polynomial below |x| = 0.625 (Cephes's tanhf), where 1 - 2/(e^2|x| + 1)
// would cancel, else that formula with x's sign.
DLC_RT_TARGET_AVX512 inline __m512 tanh(__m512 x) {
  const __m512i sign_bit = _mm512_set1_epi32(int32_t(0x80000000u));
  __m512 ax =
      _mm512_castsi512_ps(_mm512_maskz_andnot_epi32(0xFFFF, sign_bit, _mm512_castps_si512(x)));
  __m512 z = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
  __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
  __m512 one = _mm512_set1_ps(1.0f);
  __m512 e = exp(_mm512_add_ps(ax, ax));
  __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big),
                                            _mm512_and_si512(sign_bit, _mm512_castps_si512(x))));
  __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(is_small, big, small);
}

// act(x) as act_apply<A> (activation.h) computes it; relu and leaky_relu give its bits,
// sigmoid and tanh are within a few ulp of the C library's.
DLC_RT_TARGET_AVX512 inline __m512 activate(Act act, __m512 x, float slope) {
  switch (act) {
  case Act::relu: // x > 0 ? x : 0, NaN to 0 like act_apply
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), x);
  case Act::leaky_relu:
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                                _mm512_mul_ps(_mm512_set1_ps(slope), x), x);
  case Act::sigmoid:
    return sigmoid(x);
  case Act::tanh:
    return tanh(x);
  default:
    return x;
  }
}

} // namespace simd

// exp, sigmoid and tanh of 16 floats through the vector functions (for tests).
DLC_RT_TARGET_AVX512 inline void avx512_activation_test_eval(const float* x, float* e, float* s,
                                                             float* t) {
  __m512 v = _mm512_loadu_ps(x);
  _mm512_storeu_ps(e, simd::exp(v));
  _mm512_storeu_ps(s, simd::sigmoid(v));
  _mm512_storeu_ps(t, simd::tanh(v));
}
#endif

} // namespace dlc_rt
