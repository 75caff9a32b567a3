// FMA peak measurement shared by bench/peak.cpp and bench/gemm.cpp.
//
// Each thread runs kChains independent accumulator chains of 512-bit FMAs (16 f32 lanes,
// 2 flops per lane): with a 4-cycle latency and two FMA ports, 8 chains saturate the
// ports; 16 leave margin. The best of several repetitions is reported, since a shared
// machine only ever slows a run down.
#pragma once

#include <immintrin.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace dlc_bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the calling thread: on a shared machine it counts only the time this
// thread was on a core, so rates from it approximate the unloaded machine's.
inline double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Runs `iters` rounds of 16 independent FMAs; returns a value so nothing is optimised away.
__attribute__((noinline, target("avx512f"))) inline float fma_chains(int64_t iters) {
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
#define DLC_B_DECL(i) __m512 c##i = _mm512_set1_ps(float(i));
#define DLC_B_FMA(i) c##i = _mm512_fmadd_ps(c##i, a, b);
#define DLC_B_16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
  DLC_B_16(DLC_B_DECL)
  for (int64_t i = 0; i < iters; i++) {
    DLC_B_16(DLC_B_FMA)
    __asm__ volatile("" ::: "memory");
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                           _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
                                     _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15))));
#undef DLC_B_16
#undef DLC_B_FMA
#undef DLC_B_DECL
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

constexpr double kFlopsPerIter = 16 * 16 * 2;

// GFLOP/s of `threads` threads each running the chains at once (best of 5 runs). With
// cpu_time, each thread's time is its own CPU time (the rate while it ran), else wall time.
inline double fma_peak_gflops(int threads, bool cpu_time, int64_t iters = 20'000'000) {
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    std::atomic<int> ready{0};
    std::vector<double> secs(size_t(threads), 0.0);
    std::vector<std::thread> pool;
    std::atomic<float> sink{0};
    for (int t = 0; t < threads; t++)
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < threads) {
        }
        double t0 = cpu_time ? thread_cpu_s() : now_s();
        float v = fma_chains(iters);
        secs[size_t(t)] = (cpu_time ? thread_cpu_s() : now_s()) - t0;
        sink.store(v);
      });
    for (auto& th : pool) th.join();
    double slowest = *std::max_element(secs.begin(), secs.end());
    best = std::max(best, threads * iters * kFlopsPerIter / slowest * 1e-9);
  }
  return best;
}

} // namespace dlc_bench
