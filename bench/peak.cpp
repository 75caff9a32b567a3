// The machine's f32 FMA peak: AVX-512 FMAs on independent register chains (enough of
// them to cover the FMA latency on two ports), on 1 thread and on N threads at once.
// Prints `measure: peak_tN gflops=X cpu_gflops=Y` (wall-clock and per-thread CPU time
// rates: the second is what the cores do when they run, whatever else shares them).
#include "bench/peak.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  int max_threads = argc > 1 ? std::atoi(argv[1]) : 2;
  for (int t = 1; t <= max_threads; t++) {
    double wall = dlc_bench::fma_peak_gflops(t, false);
    double cpu = dlc_bench::fma_peak_gflops(t, true);
    std::printf("measure: peak_t%d gflops=%.1f cpu_gflops=%.1f per_core=%.1f\n", t, wall, cpu,
                cpu / t);
  }
  return 0;
}
