// GEMM: C = epilogue(alpha * op(A) * op(B) + beta * C), f32, row-major.
//
// op(A) is m x k (A stored m x k, or k x m when trans_a), op(B) is k x n (B stored k x n,
// or n x k when trans_b), C is m x n; lda/ldb/ldc are row strides, so a caller splits work
// across threads by passing sub-matrices (row blocks of A and C). With beta == 0, C is
// only written (it may hold garbage); beta == 1 accumulates, e.g. into a gradient. The
// epilogue (bias per column of C, then an activation) is applied once, to the final sum.
//
// Structure (BLIS/Goto): the jc loop takes NC columns, the pc loop KC of depth (B block
// packed once, reused by every row block), the ic loop MC rows (A block packed, stays in
// L2), then MR x NR micro-tiles over packed panels. Results are deterministic: the
// summation order depends only on the shapes and the kernel.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/activation.h"
#include "runtime/kernels/gemm_direct.h"
#include "runtime/kernels/gemm_microkernel.h"
#include "runtime/kernels/gemm_pack.h"
#include "runtime/kernels/gemm_parallel.h"
#include "runtime/kernels/gemm_store.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dlc_rt {

// Which micro-kernel to use; automatic takes AVX-512 when usable, else portable.
enum class GemmKernel { automatic, portable, avx512 };

struct GemmOptions {
  GemmKernel kernel = GemmKernel::automatic;
  // gemm_workspace_floats(m, n, k) floats aligned to 64 bytes for the packed blocks; null
  // uses a per-thread buffer allocated on the thread's first call.
  float* workspace = nullptr;
  // The pool to split the work across (see gemm_parallel.h); null takes
  // default_kernel_pool(), and when that is null too the GEMM runs on the calling thread.
  // The caller's workspace is used by the calling thread only; workers use their own.
  ThreadPool* pool = nullptr;
};

// Floats of the packed blocks of any product: A's MC x KC block and B's KC x NC block.
constexpr int64_t gemm_workspace_floats() {
  return kGemmMC * kGemmKC + kGemmKC * kGemmNC;
}

// The micro-panels every kernel's MR and NR divide: packed blocks are whole panels of these.
constexpr int64_t kGemmPanelRows = 12, kGemmPanelCols = 32;
static_assert(kGemmMC % kGemmPanelRows == 0 && kGemmNC % kGemmPanelCols == 0, "blocks must hold whole panels");

// Floats of A's packed block for an m x k op(A): its rows up to MC, rounded up to whole
// panels, times its depth up to KC. B's block starts there in a workspace.
constexpr int64_t gemm_a_block_floats(int64_t m, int64_t k) {
  return (std::min(m, kGemmMC) + kGemmPanelRows - 1) / kGemmPanelRows * kGemmPanelRows * std::min(k, kGemmKC);
}

// Floats the packed blocks of an m x n x k product take: sized by the blocking, so a
// small product needs a small workspace (gemm_workspace_floats() for large ones). A
// product the direct kernel computes (gemm_direct_fits) needs none, but this is enough
// for it either way.
constexpr int64_t gemm_workspace_floats(int64_t m, int64_t n, int64_t k) {
  int64_t kc = std::min(k, kGemmKC);
  return gemm_a_block_floats(m, k) + kc * ((std::min(n, kGemmNC) + kGemmPanelCols - 1) / kGemmPanelCols * kGemmPanelCols);
}

inline bool gemm_kernel_available(GemmKernel k) {
  return k != GemmKernel::avx512 || avx512_usable();
}

namespace gemm_detail {

// A per-thread buffer, 64-byte aligned, grown once and then reused (no allocation on the
// hot path after a thread's first call).
inline float* thread_workspace(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats + 16) buffer.resize(floats + 16);
  auto addr = reinterpret_cast<uintptr_t>(buffer.data());
  return reinterpret_cast<float*>((addr + 63) & ~uintptr_t(63));
}

} // namespace gemm_detail

// Every worker of `pool` makes its GEMM packing buffer now, of `floats` floats (64-byte
// aligned; the most any product it will share needs: gemm_workspace_floats(m, n, k) of
// its part): a worker packs into its own buffer, never the caller's workspace, so that
// after this no call allocates. Call it once when threads are made.
inline void reserve_thread_workspaces(ThreadPool& pool, int64_t floats = gemm_workspace_floats()) {
  // Task t of size() tasks runs on thread t; thread 0, the caller, packs into the workspace
  // its caller passes.
  pool.parallel_for(pool.size(), [floats](int64_t t) {
    if (t > 0) gemm_detail::thread_workspace(size_t(floats));
  });
}

// Bytes reserve_thread_workspaces takes per worker thread for `floats` floats.
constexpr int64_t thread_workspace_bytes(int64_t floats) { return (floats + 16) * int64_t(sizeof(float)); }

namespace gemm_detail {

// k == 0: C = beta*C, then the epilogue (a product over an empty depth is zero).
inline void scale_only(int64_t m, int64_t n, float beta, float* c, int64_t ldc,
                       const Epilogue& ep) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      float& v = c[i * ldc + j];
      v = beta == 0.0f ? 0.0f : beta * v;
      if (ep.bias) v += ep.bias[j];
      v = activate(ep.act, v, ep.slope);
    }
}

// One row block of C at one depth block: packs op(A) rows [ic, ic+mc) x depth
// [pc, pc+kc) into a_panels, then runs the micro-tiles against the packed B block of
// columns [jc, jc+nc) (b_panels). beta_block: beta for the first depth block, else 1;
// last: the final depth block, where the epilogue is due.
template <class K, class PackA>
void row_block(int64_t ic, int64_t mc, int64_t jc, int64_t nc, int64_t pc, int64_t kc, bool last,
               float alpha, float beta_block, const PackA& pa, const float* b_panels,
               float* a_panels, float* c, int64_t ldc, const Epilogue& ep) {
  alignas(64) float acc[K::MR * K::NR];
  pa.template pack<K::MR>(ic, mc, pc, kc, a_panels);
  bool plain = !last || (!ep.bias && ep.act == Act::none); // no epilogue due
  for (int64_t jr = 0; jr < nc; jr += K::NR) {
    Epilogue e = ep;
    if (e.bias) e.bias += jc + jr;
    for (int64_t ir = 0; ir < mc; ir += K::MR) {
      float* ct = c + (ic + ir) * ldc + jc + jr;
      if constexpr (K::has_direct_store) {
        if (plain && ir + K::MR <= mc && jr + K::NR <= nc) {
          K::template run_to_c<panels_by_rows<PackA>()>(kc, a_panels + ir * kc, b_panels + jr * kc, ct, ldc,
                                                        alpha, beta_block);
          continue;
        }
      }
      K::template run<panels_by_rows<PackA>()>(kc, a_panels + ir * kc, b_panels + jr * kc, acc);
      store_for<K::avx512, K::NR>(acc, ct, ldc, std::min<int64_t>(K::MR, mc - ir),
                                  std::min<int64_t>(K::NR, nc - jr), alpha, beta_block,
                                  last ? &e : nullptr);
    }
  }
}

template <class K, class PackA, class PackB>
void driver(int64_t m, int64_t n, int64_t k, float alpha, const PackA& pa, const PackB& pb,
            float beta, float* c, int64_t ldc, const Epilogue& ep, float* ws) {
  float* a_panels = ws;
  float* b_panels = ws + gemm_a_block_floats(m, k);
  for (int64_t jc = 0; jc < n; jc += kGemmNC) {
    int64_t nc = std::min(kGemmNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kGemmKC) {
      int64_t kc = std::min(kGemmKC, k - pc);
      pb.template pack<K::NR>(pc, kc, jc, nc, b_panels);
      for (int64_t ic = 0; ic < m; ic += kGemmMC)
        row_block<K>(ic, std::min(kGemmMC, m - ic), jc, nc, pc, kc, pc + kc == k, alpha,
                     pc == 0 ? beta : 1.0f, pa, b_panels, a_panels, c, ldc, ep);
    }
  }
}

// Thread t of a team of `threads` (one parallel_for task each): the B block is packed
// once, by all threads together (each its share of the NR-wide panels, into the shared
// b_panels), then each thread computes its own rows of C (whole MR panels) with its own
// packed A. Two barriers per depth block: B complete before use, used before repacked.
// Each element of C is summed as in driver(): the same bits for any team size.
template <class K, class PackA, class PackB>
void team_driver(int t, int threads, SpinBarrier& barrier, int64_t m, int64_t n, int64_t k,
                 float alpha, const PackA& pa, const PackB& pb, float beta, float* c, int64_t ldc,
                 const Epilogue& ep, float* a_panels, float* b_panels) {
  TaskRange rows = split_range((m + K::MR - 1) / K::MR, threads, t);
  int64_t i0 = std::min(m, rows.begin * K::MR), i1 = std::min(m, rows.end * K::MR);
  for (int64_t jc = 0; jc < n; jc += kGemmNC) {
    int64_t nc = std::min(kGemmNC, n - jc);
    TaskRange mine = split_range((nc + K::NR - 1) / K::NR, threads, t);
    int64_t j0 = std::min(nc, mine.begin * K::NR), j1 = std::min(nc, mine.end * K::NR);
    for (int64_t pc = 0; pc < k; pc += kGemmKC) {
      int64_t kc = std::min(kGemmKC, k - pc);
      if (j1 > j0) pb.template pack<K::NR>(pc, kc, jc + j0, j1 - j0, b_panels + j0 * kc);
      barrier.wait();
      for (int64_t ic = i0; ic < i1; ic += kGemmMC)
        row_block<K>(ic, std::min(kGemmMC, i1 - ic), jc, nc, pc, kc, pc + kc == k, alpha,
                     pc == 0 ? beta : 1.0f, pa, b_panels, a_panels, c, ldc, ep);
      barrier.wait();
    }
  }
}

} // namespace gemm_detail

namespace gemm_detail {

template <class K, class PackA, class PackB>
void run_serial_or_split(int64_t m, int64_t n, int64_t k, float alpha, const PackA& pa,
                         const PackB& pb, float beta, float* c, int64_t ldc, const Epilogue& ep,
                         float* ws, ThreadPool* pool) {
  if (!pool || !pool->runs_in_parallel() || 2 * m * n * k < kGemmParallelMinFlops)
    return driver<K>(m, n, k, alpha, pa, pb, beta, c, ldc, ep, ws);
  const int parts = pool->size();
  if (!packs_by_copy<PackA>() && gemm_use_team(m, K::MR, parts)) {
    SpinBarrier barrier(parts);
    float* b_shared = ws + gemm_a_block_floats(m, k); // the caller's B area
    pool->parallel_for(parts, [&](int64_t p) {
      enable_ftz();
      float* a_ws = p == 0 ? ws : thread_workspace(size_t(gemm_a_block_floats(m, k)));
      team_driver<K>(int(p), parts, barrier, m, n, k, alpha, pa, pb, beta, c, ldc, ep, a_ws,
                     b_shared);
    });
    return;
  }
  pool->parallel_for(parts, [&](int64_t p) {
    enable_ftz(); // workers too: FTZ/DAZ are per-thread state
    GemmPart part = gemm_split(m, n, K::MR, K::NR, parts, int(p));
    if (part.m <= 0 || part.n <= 0) return;
    Epilogue e = ep;
    if (e.bias) e.bias += part.j0;
    float* w = p == 0 ? ws : thread_workspace(size_t(gemm_workspace_floats(part.m, part.n, k)));
    driver<K>(part.m, part.n, k, alpha, ShiftedPackA<PackA>{pa, part.i0},
              ShiftedPackB<PackB>{pb, part.j0}, beta, c + part.i0 * ldc + part.j0, ldc, e, w);
  });
}

} // namespace gemm_detail

// The GEMM over any packers (plain matrices, or the convolutions' implicit im2col).
template <class PackA, class PackB>
void gemm_packed(int64_t m, int64_t n, int64_t k, float alpha, const PackA& pa, const PackB& pb,
                 float beta, float* c, int64_t ldc, const Epilogue& ep = {},
                 const GemmOptions& opt = {}) {
  enable_ftz();
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return gemm_detail::scale_only(m, n, beta, c, ldc, ep);
  float* ws = opt.workspace ? opt.workspace
                            : gemm_detail::thread_workspace(size_t(gemm_workspace_floats()));
  ThreadPool* pool = opt.pool ? opt.pool : default_kernel_pool();
#ifdef DLC_RT_HAVE_AVX512
  bool wide =
      opt.kernel == GemmKernel::avx512 || (opt.kernel == GemmKernel::automatic && avx512_usable());
  if (wide && avx512_usable())
    return gemm_detail::run_serial_or_split<Avx512Kernel>(m, n, k, alpha, pa, pb, beta, c, ldc, ep,
                                                          ws, pool);
#endif
  gemm_detail::run_serial_or_split<PortableKernel>(m, n, k, alpha, pa, pb, beta, c, ldc, ep, ws,
                                                   pool);
}

inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc, const Epilogue& ep = {}, const GemmOptions& opt = {}) {
  if (m > 0 && n > 0 && k > 0 && gemm_direct_fits(trans_b, m, n)) {
    enable_ftz();
    gemm_direct_detail::Problem p{m, n, k, alpha, a, lda, trans_a, b, ldb, beta, c, ldc, &ep};
    ThreadPool* pool = opt.pool ? opt.pool : default_kernel_pool();
#ifdef DLC_RT_HAVE_AVX512
    if (opt.kernel != GemmKernel::portable && avx512_usable())
      return gemm_direct_detail::run<gemm_direct_detail::Avx512Tile>(p, pool);
#endif
    return gemm_direct_detail::run<gemm_direct_detail::PortableTile>(p, pool);
  }
  gemm_packed(m, n, k, alpha, PackMatrixA{a, lda, trans_a}, PackMatrixB{b, ldb, trans_b}, beta, c,
              ldc, ep, opt);
}

} // namespace dlc_rt
