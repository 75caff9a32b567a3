// dlc's GEMM in GFLOP/s against the machine's measured FMA peak: 512^3, 1024^3 and the
// MLP's training shapes (batch 100, 784-500-500-10: forward A.B, weight gradients A^T.B,
// input gradients A.B^T), on 1 and 2 threads.
//
// Rates are reported two ways: wall-clock, and per CPU second (flops / (process CPU time
// / threads)). On a shared machine the second approximates an unloaded run, but it
// overstates the rate when a pool thread idles part of the time (its CPU time is not
// counted), so the ratio to the peak (bench/peak.h) uses the lower of the two rates.
//   usage: gemm [max_threads=2] [seconds_per_measure=0.3] [shape_name_filter]
#include "bench/peak.h"
#include "runtime/kernels/gemm.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Shape {
  const char* name;
  bool ta, tb;
  int64_t m, n, k;
};

const Shape kShapes[] = {
    {"gemm512", false, false, 512, 512, 512},
    {"gemm1024", false, false, 1024, 1024, 1024},
    {"mlp_fwd1_100x784x500", false, false, 100, 500, 784},
    {"mlp_fwd2_100x500x500", false, false, 100, 500, 500},
    {"mlp_fwd3_100x500x10", false, false, 100, 10, 500},
    {"mlp_dw1_784x100x500_tn", true, false, 784, 500, 100},
    {"mlp_dw2_500x100x500_tn", true, false, 500, 500, 100},
    {"mlp_dw3_500x100x10_tn", true, false, 500, 10, 100},
    {"mlp_dx2_100x500x500_nt", false, true, 100, 500, 500},
    {"mlp_dx3_100x10x500_nt", false, true, 100, 500, 10},
    {"mlp_infer1_1x784x500", false, false, 1, 500, 784}, // batch-1 inference (weights streamed)
    {"mlp_infer1_1x500x500", false, false, 1, 500, 500},
    {"mlp_infer256_256x784x500", false, false, 256, 500, 784}, // batch-256 inference
    {"mlp_infer256_256x500x500", false, false, 256, 500, 500},
};

double process_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct Rate {
  double wall_gflops, cpu_gflops;
};

// Best of repeated timed batches of calls (a shared machine only ever slows a run).
Rate time_gemm(const Shape& s, dlc_rt::ThreadPool& pool, double seconds) {
  int64_t rows_a = s.ta ? s.k : s.m, cols_a = s.ta ? s.m : s.k;
  int64_t rows_b = s.tb ? s.n : s.k, cols_b = s.tb ? s.k : s.n;
  std::vector<float> a(size_t(rows_a * cols_a)), b(size_t(rows_b * cols_b)), c(size_t(s.m * s.n));
  for (size_t i = 0; i < a.size(); i++) a[i] = float(i % 7) * 0.1f - 0.3f;
  for (size_t i = 0; i < b.size(); i++) b[i] = float(i % 5) * 0.1f - 0.2f;
  dlc_rt::GemmOptions opt;
  opt.pool = &pool;
  auto call = [&] {
    dlc_rt::gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), cols_a, b.data(), cols_b, 0.0f,
                 c.data(), s.n, {}, opt);
  };
  call();
  double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  int64_t batch = std::max<int64_t>(1, int64_t(2e8 / flops));
  Rate best{0, 0};
  double end = dlc_bench::now_s() + seconds;
  for (int rep = 0; rep < 3 || dlc_bench::now_s() < end; rep++) {
    double w0 = dlc_bench::now_s(), c0 = process_cpu_s();
    for (int64_t i = 0; i < batch; i++) call();
    // Below the parallel threshold only the calling thread works (the worker sleeps).
    int busy = 2 * s.m * s.n * s.k < dlc_rt::kGemmParallelMinFlops ? 1 : pool.size();
    double wall = dlc_bench::now_s() - w0, cpu = (process_cpu_s() - c0) / busy;
    best.wall_gflops = std::max(best.wall_gflops, flops * double(batch) / wall * 1e-9);
    best.cpu_gflops = std::max(best.cpu_gflops, flops * double(batch) / cpu * 1e-9);
  }
  return best;
}

} // namespace

// usage: gemm [threads] [seconds] [shape filter]; each argument may be given alone.
int main(int argc, char** argv) {
  auto number = [&](int i, double dflt, double lo, double hi, bool whole, const char* what) {
    if (argc <= i) return dflt;
    char* end = nullptr;
    double v = std::strtod(argv[i], &end);
    if (end == argv[i] || *end != '\0' || !(v >= lo && v <= hi) || (whole && v != double(int64_t(v)))) {
      std::fprintf(stderr, "gemm: %s '%s' is not a%s number in [%g, %g] (usage: gemm [threads] [seconds] [shape filter])\n",
                   what, argv[i], whole ? " whole" : "", lo, hi);
      std::exit(1);
    }
    return v;
  };
  int max_threads = int(number(1, 2, 1, 256, true, "thread count"));
  double seconds = number(2, 0.3, 0.001, 3600, false, "seconds");
  std::string only = argc > 3 ? argv[3] : "";
  std::vector<double> peak(size_t(max_threads) + 1);
  for (int t = 1; t <= max_threads; t++) {
    peak[size_t(t)] = dlc_bench::fma_peak_gflops(t, true);
    std::printf("measure: peak_t%d cpu_gflops=%.1f\n", t, peak[size_t(t)]);
  }
  std::printf("%-26s %3s %10s %10s %8s\n", "shape", "thr", "wall GF/s", "cpu GF/s", "of peak");
  for (const Shape& s : kShapes)
    for (int t = 1; std::string(s.name).find(only) != std::string::npos && t <= max_threads; t++) {
      dlc_rt::ThreadPool pool(t);
      Rate r = time_gemm(s, pool, seconds);
      double ratio = std::min(r.wall_gflops, r.cpu_gflops) / peak[size_t(t)];
      std::printf("%-26s %3d %10.1f %10.1f %7.1f%%\n", s.name, t, r.wall_gflops, r.cpu_gflops,
                  100 * ratio);
      std::printf("measure: %s_t%d gflops=%.1f cpu_gflops=%.1f peak=%.1f ratio=%.3f\n", s.name, t,
                  r.wall_gflops, r.cpu_gflops, peak[size_t(t)], ratio);
      if (t == max_threads && s.m == s.n && s.n == s.k) // the headline line
        std::printf("measure: %s gflops=%.1f cpu_gflops=%.1f peak=%.1f ratio=%.3f threads=%d\n",
                    s.name, r.wall_gflops, r.cpu_gflops, peak[size_t(t)], ratio, t);
      std::fflush(stdout);
    }
  return 0;
}
