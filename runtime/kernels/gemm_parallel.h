// Splitting one GEMM across a thread pool, statically and deterministically.
//
// Tall products whose A is costly to pack (gemm_use_team; the convolutions' implicit
// im2col) run as a team: the threads pack each block of B together into one shared
// buffer, wait at a barrier, and each computes its own rows of C; a second barrier per
// depth block keeps B until everyone used it. Otherwise:
//
// The split is over independent output tiles: thread t computes a contiguous block of C's
// columns (or rows) with the full depth, through the same serial driver. Every element of
// C is then summed in exactly the order the serial GEMM uses (the order depends only on k
// and the kernel, never on where the tile sits), so the result is bit-identical for every
// thread count, not just reproducible for a given one.
//
// Columns are split in units of the kernel's NR and rows in units of MR, so no thread
// computes a partial micro-tile that a serial run would have computed whole (that would
// still give the same bits, but waste work). Columns are preferred: each thread then packs
// only its own part of B (the large operand in the backward passes) and all of A.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/gemm_pack.h"
#include "runtime/thread_pool.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace dlc_rt {

// The pool that GEMMs, convolutions and split loops use when their options name none
// (null: serial), one per calling thread. Thread-local, so that two model contexts driven
// from two threads never see (or outlive) each other's pool: a call sets it for its
// duration and restores it (ScopedKernelPool). The pool's workers see null, so a kernel
// running on a worker never fans out again.
inline ThreadPool*& default_kernel_pool() {
  static thread_local ThreadPool* pool = nullptr;
  return pool;
}

// Makes `pool` (null: the calling thread alone) the calling thread's kernel pool until
// the end of the scope, then restores what was there.
class ScopedKernelPool {
public:
  explicit ScopedKernelPool(ThreadPool* pool) : saved_(default_kernel_pool()) { default_kernel_pool() = pool; }
  ~ScopedKernelPool() { default_kernel_pool() = saved_; }
  ScopedKernelPool(const ScopedKernelPool&) = delete;
  ScopedKernelPool& operator=(const ScopedKernelPool&) = delete;

private:
  ThreadPool* saved_;
};

// Runs f(begin, end) over contiguous blocks covering [0, count): one block per thread of
// the default kernel pool, each at least `grain` long (fewer blocks when count is short;
// one call on the calling thread without a pool). For loops whose elements are
// independent, so that the split never changes a result. Generated code runs with
// denormals flushed (runtime/ftz.h); the workers' blocks do too, so that every element
// rounds the same whichever thread computes it.
template <class F> void parallel_range(int64_t count, int64_t grain, F&& f) {
  ThreadPool* pool = default_kernel_pool();
  int64_t parts = pool ? std::min<int64_t>(pool->size(), count / std::max<int64_t>(grain, 1)) : 1;
  if (parts <= 1) {
    if (count > 0) f(int64_t(0), count);
    return;
  }
  pool->parallel_for(parts, [&](int64_t p) {
    enable_ftz();
    TaskRange r = split_range(count, int(parts), int(p));
    f(r.begin, r.end);
  });
}

// Below this many flops a GEMM runs on one thread: waking a worker costs a few
// microseconds, about what 2 threads save on a 100x500x10 product.
constexpr int64_t kGemmParallelMinFlops = 2'000'000;

struct GemmPart {
  int64_t i0, m, j0, n; // the block of C this part computes
};

// How `parts` threads share an m x n output: part p's block. Columns when there are at
// least two NR-wide column panels per thread, else rows (MR-high panels).
inline GemmPart gemm_split(int64_t m, int64_t n, int mr, int nr, int parts, int p) {
  int64_t col_panels = (n + nr - 1) / nr, row_panels = (m + mr - 1) / mr;
  if (col_panels >= 2 * parts || col_panels >= row_panels) {
    TaskRange r = split_range(col_panels, parts, p);
    int64_t j0 = std::min(n, r.begin * nr), j1 = std::min(n, r.end * nr);
    return {0, m, j0, j1 - j0};
  }
  TaskRange r = split_range(row_panels, parts, p);
  int64_t i0 = std::min(m, r.begin * mr), i1 = std::min(m, r.end * mr);
  return {i0, i1 - i0, 0, n};
}

// Whether `parts` threads share one GEMM as a team (gemm.h's team_driver: B packed once
// by all, rows of C split) rather than by gemm_split's independent blocks, where every
// thread packs all of the operand it does not split. The team needs enough rows for an
// even split in MR panels.
inline bool gemm_use_team(int64_t m, int mr, int parts) {
  return (m + mr - 1) / mr >= 8 * int64_t(parts);
}

// Whether packing op(A) only copies a strided matrix (the packer declares `copies`), so
// that every thread packing all of A costs little: such products never team. With
// AVX-512 packing, a column split beat the team on every shape measured, up to 1024^3
// (bench/gemm.cpp, 2 threads: 256x784x500 245-250 -> 277 GFLOP/s, 1024^3 290 -> 304):
// the team's threads wait at two barriers per depth block and read the B panels the
// other core packed. Packers that gather (the convolutions' im2col) keep the team.
template <class PackA, class = void> struct PacksByCopy : std::false_type {};
template <class PackA>
struct PacksByCopy<PackA, std::void_t<decltype(PackA::copies)>>
    : std::bool_constant<PackA::copies> {};
template <class PackA> constexpr bool packs_by_copy() { return PacksByCopy<PackA>::value; }

// Packers that read a sub-block of another packer's matrix: op(A) from row di, op(B)
// from column dj on.
template <class PackA> struct ShiftedPackA {
  static constexpr bool rows_major = panels_by_rows<PackA>();
  const PackA& inner;
  int64_t di;
  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    inner.template pack<MR>(i0 + di, mc, k0, kc, dst);
  }
};

template <class PackB> struct ShiftedPackB {
  const PackB& inner;
  int64_t dj;
  template <int NR> void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    inner.template pack<NR>(k0, kc, j0 + dj, nc, dst);
  }
};

} // namespace dlc_rt
