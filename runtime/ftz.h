// Flush-to-zero (FTZ) and denormals-are-zero (DAZ) for the calling thread.
//
// Why: Adam's second-moment state decays into the denormal range on real data, and every
// x87/SSE/AVX operation touching a denormal takes a microcode assist (measured: 30% or
// more of a training step). Kernels call enable_ftz() at entry; it is cheap (one MXCSR
// read, a write only when the bits are not set yet) and idempotent. Elsewhere (non-SSE
// targets) it is a no-op: results there may differ from x86 in the last denormal bits.
#pragma once

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#define DLC_RT_HAVE_MXCSR 1
#include <xmmintrin.h> // _mm_getcsr/_mm_setcsr; the bits are spelled out below
#endif

namespace dlc_rt {

// MXCSR bits: FTZ (bit 15) flushes denormal results, DAZ (bit 6) reads denormal inputs as 0.
constexpr unsigned kMxcsrFtz = 0x8000u;
constexpr unsigned kMxcsrDaz = 0x0040u;

inline void enable_ftz() {
#ifdef DLC_RT_HAVE_MXCSR
  unsigned csr = _mm_getcsr();
  unsigned want = csr | kMxcsrFtz | kMxcsrDaz;
  if (want != csr) _mm_setcsr(want);
#endif
}

// True when both modes are active on this thread (always false where there is no MXCSR).
inline bool ftz_enabled() {
#ifdef DLC_RT_HAVE_MXCSR
  unsigned csr = _mm_getcsr();
  return (csr & (kMxcsrFtz | kMxcsrDaz)) == (kMxcsrFtz | kMxcsrDaz);
#else
  return false;
#endif
}

// Restores the caller's floating-point mode on scope exit (for tests and embedders that
// must not leak FTZ into their own code).
class FtzScope {
public:
  FtzScope() {
#ifdef DLC_RT_HAVE_MXCSR
    saved_ = _mm_getcsr();
#endif
    enable_ftz();
  }
  ~FtzScope() {
#ifdef DLC_RT_HAVE_MXCSR
    _mm_setcsr(saved_);
#endif
  }
  FtzScope(const FtzScope&) = delete;
  FtzScope& operator=(const FtzScope&) = delete;

private:
  unsigned saved_ = 0;
};

} // namespace dlc_rt
