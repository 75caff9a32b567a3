// GEMM without packing, for the products where packing costs more than it saves:
//   - few rows (m <= 4: batch-1 inference), where the packed GEMM would copy all of B,
//     the weights, on every call to use each element m times;
//   - few columns (n <= 16: a 10-class output layer and its weight gradient), where the
//     packed kernel's 32-wide tiles would be two-thirds padding.
// B must be stored k x n (its rows are read in place, columns masked at the edge); A is
// read in place either way. Tiles are R rows x V*16 columns of accumulators in registers.
//
// Every element is summed as in the packed GEMM: from zero over each KC-deep block in
// order with one FMA per term, then stored as alpha*acc + beta*C (beta = 1 after the first
// block) through gemm_store.h, which also applies the epilogue after the last block. The
// work splits across a pool by whole tiles (columns for few rows, rows for few columns),
// so the bits do not depend on the thread count.
#pragma once

#include "runtime/ftz.h"
#include "runtime/kernels/gemm_microkernel.h"
#include "runtime/kernels/gemm_pack.h"
#include "runtime/kernels/gemm_parallel.h"
#include "runtime/kernels/gemm_store.h"

#include <algorithm>

namespace dlc_rt {

// Whether gemm() takes the unpacked path for this shape.
inline bool gemm_direct_fits(bool trans_b, int64_t m, int64_t n) {
  return !trans_b && (m <= 4 || n <= 16);
}

namespace gemm_direct_detail {

// A's block from (i, p): element (r, q) at a[r * row + q * col].
struct APtr {
  const float* a;
  int64_t row, col;
};

// acc[r * V*16 + j] = sum over q < kc of A(r, q) * b[q * ldb + j], j < cols.
template <int R, int V> struct PortableTile {
  static constexpr bool avx512 = false;
  static void run(int64_t kc, APtr a, const float* b, int64_t ldb, int64_t cols, float* acc) {
    constexpr int W = V * 16;
    float c[R][W] = {};
    for (int64_t q = 0; q < kc; q++) {
      const float* bq = b + q * ldb;
      for (int r = 0; r < R; r++) {
        float av = a.a[r * a.row + q * a.col];
        for (int64_t j = 0; j < cols; j++)
          c[r][j] += av * bq[j];
      }
    }
    for (int r = 0; r < R; r++)
      for (int j = 0; j < W; j++)
        acc[r * W + j] = c[r][j];
  }
};

#ifdef DLC_RT_HAVE_AVX512
template <int R, int V> struct Avx512Tile {
  static constexpr bool avx512 = true;
  static constexpr int64_t kPrefetchRows = 12;
  DLC_RT_TARGET_AVX512 static void run(int64_t kc, APtr a, const float* b, int64_t ldb,
                                       int64_t cols, float* acc) {
    __m512 c[R][V];
    __mmask16 mask[V];
    DLC_RT_UNROLL
    for (int v = 0; v < V; v++) {
      mask[v] = simd::lanes(cols - 16 * v);
      DLC_RT_UNROLL
      for (int r = 0; r < R; r++)
        c[r][v] = _mm512_setzero_ps();
    }
    for (int64_t q = 0; q < kc; q++) {
      __m512 bv[V];
      if constexpr (R <= 2) { // few rows: B streams from L2, a row of the strip ahead
        DLC_RT_UNROLL
        for (int v = 0; v < V; v++)
          _mm_prefetch(reinterpret_cast<const char*>(b + (q + kPrefetchRows) * ldb + 16 * v),
                       _MM_HINT_T0);
      }
      DLC_RT_UNROLL
      for (int v = 0; v < V; v++)
        bv[v] = _mm512_maskz_loadu_ps(mask[v], b + q * ldb + 16 * v);
      DLC_RT_UNROLL
      for (int r = 0; r < R; r++) {
        __m512 av = _mm512_set1_ps(a.a[r * a.row + q * a.col]);
        DLC_RT_UNROLL
        for (int v = 0; v < V; v++)
          c[r][v] = _mm512_fmadd_ps(av, bv[v], c[r][v]);
      }
    }
    DLC_RT_UNROLL
    for (int r = 0; r < R; r++)
      DLC_RT_UNROLL
    for (int v = 0; v < V; v++)
      _mm512_storeu_ps(acc + r * V * 16 + 16 * v, c[r][v]);
  }
};
#endif

struct Problem {
  int64_t m, n, k;
  float alpha;
  const float* a;
  int64_t lda;
  bool trans_a;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
  const Epilogue* ep;
};

// Rows [i0, i0+R) x columns [j0, j0+cols) of C, every depth block.
template <template <int, int> class Tile, int R, int V>
void tile_all_depth(const Problem& p, int64_t i0, int64_t j0, int64_t cols) {
  constexpr int W = V * 16;
  alignas(64) float acc[R * W];
  int64_t a_row = p.trans_a ? 1 : p.lda, a_col = p.trans_a ? p.lda : 1;
  Epilogue e = *p.ep;
  if (e.bias) e.bias += j0;
  for (int64_t pc = 0; pc < p.k; pc += kGemmKC) {
    int64_t kc = std::min(kGemmKC, p.k - pc);
    Tile<R, V>::run(kc, APtr{p.a + i0 * a_row + pc * a_col, a_row, a_col}, p.b + pc * p.ldb + j0,
                    p.ldb, cols, acc);
    gemm_detail::store_for<Tile<R, V>::avx512, W>(acc, p.c + i0 * p.ldc + j0, p.ldc, R, cols,
                                                  p.alpha, pc == 0 ? p.beta : 1.0f,
                                                  pc + kc == p.k ? &e : nullptr);
  }
}

// The tiles of rows [i0, i1) x columns [j0, j1): R-row tiles, then the last rows with a
// tile of their exact height.
template <template <int, int> class Tile, int R, int V>
void tiles(const Problem& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  constexpr int W = V * 16;
  for (int64_t jb = j0; jb < j1; jb += W) {
    int64_t cols = std::min<int64_t>(W, j1 - jb), ib = i0;
    for (; ib + R <= i1; ib += R)
      tile_all_depth<Tile, R, V>(p, ib, jb, cols);
    if constexpr (R > 1) {
      if (ib < i1) tiles<Tile, R - 1, V>(p, ib, i1, jb, jb + cols);
    }
  }
}

template <template <int, int> class Tile> void run(const Problem& p, ThreadPool* pool) {
  const bool few_rows = p.m <= 4;
  constexpr int kRowsTile = 8; // few columns: 8 rows x 16 columns, 8 FMA chains
  auto part = [&](int parts, int t) {
    if (few_rows) { // split 64-column blocks
      TaskRange r = split_range((p.n + 63) / 64, parts, t);
      int64_t j0 = std::min(p.n, r.begin * 64), j1 = std::min(p.n, r.end * 64);
      if (j1 <= j0) return;
      if (p.m <= 2) // 128-column strips: 8 FMA chains per row, B read 512 bytes a row at a time
        tiles<Tile, 2, 8>(p, 0, p.m, j0, j1);
      else
        tiles<Tile, 4, 4>(p, 0, p.m, j0, j1);
    } else { // split 8-row blocks
      TaskRange r = split_range((p.m + kRowsTile - 1) / kRowsTile, parts, t);
      int64_t i0 = std::min(p.m, r.begin * kRowsTile), i1 = std::min(p.m, r.end * kRowsTile);
      if (i1 > i0) tiles<Tile, kRowsTile, 1>(p, i0, i1, 0, p.n);
    }
  };
  // Few rows: B is streamed once per call, so splitting it pays from ~0.5 MB on (each core
  // then keeps its share of the weights in its own L2 across calls).
  bool worth =
      2 * p.m * p.n * p.k >= kGemmParallelMinFlops || (few_rows && p.k * p.n >= 128 * 1024);
  if (!pool || !pool->runs_in_parallel() || !worth) return part(1, 0);
  const int parts = pool->size();
  pool->parallel_for(parts, [&](int64_t t) {
    enable_ftz();
    part(parts, int(t));
  });
}

} // namespace gemm_direct_detail
} // namespace dlc_rt
