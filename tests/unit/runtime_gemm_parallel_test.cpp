// The GEMM and convolutions split across a thread pool: the split covers the output
// exactly once, and because it is over independent output tiles with the full depth, the
// result has the same bits for 1, 2 and 3 threads (and equals the serial GEMM's), for
// every transpose, beta and epilogue, whether the threads work on independent blocks or
// (for packers that gather, like the convolutions') as a team sharing the packed B; the values themselves are checked against a naive
// double-precision product. No timing here (bench/gemm.cpp measures speed).
#include "runtime/kernels/kernels.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using Vec = std::vector<float>;

namespace {

Vec random_vec(int64_t n, uint64_t stream) {
  Vec v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++)
    v[size_t(i)] = 2.0f * dlc_rt::rng_uniform(77, stream, uint64_t(i)) - 1.0f;
  return v;
}

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  float beta;
};

// A's packer without the `copies` mark: the GEMM then treats A as costly to pack, like
// the convolutions' im2col, and tall products run as a team.
struct GatheringA {
  dlc_rt::PackMatrixA inner;
  template <int MR> void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) const {
    inner.pack<MR>(i0, mc, k0, kc, dst);
  }
};
static_assert(dlc_rt::packs_by_copy<dlc_rt::PackMatrixA>() && !dlc_rt::packs_by_copy<GatheringA>());

// C for a case, computed with `threads` threads (0: no pool at all); `gathering` packs A
// through GatheringA (gemm_packed) instead of the plain matrix (gemm).
Vec run_gemm(const Case& t, int threads, const dlc_rt::Epilogue& ep = {}, bool gathering = false) {
  Vec a = random_vec(t.m * t.k, 1), b = random_vec(t.k * t.n, 2), c = random_vec(t.m * t.n, 3);
  int64_t lda = t.ta ? t.m : t.k, ldb = t.tb ? t.k : t.n;
  dlc_rt::ThreadPool pool(threads > 0 ? threads : 1);
  dlc_rt::GemmOptions opt;
  opt.pool = threads > 0 ? &pool : nullptr;
  if (gathering)
    dlc_rt::gemm_packed(t.m, t.n, t.k, 1.0f, GatheringA{{a.data(), lda, t.ta}},
                        dlc_rt::PackMatrixB{b.data(), ldb, t.tb}, t.beta, c.data(), t.n, ep, opt);
  else
    dlc_rt::gemm(t.ta, t.tb, t.m, t.n, t.k, 1.0f, a.data(), lda, b.data(), ldb, t.beta, c.data(),
                 t.n, ep, opt);
  return c;
}

double max_err_vs_naive(const Case& t, const Vec& got) {
  Vec a = random_vec(t.m * t.k, 1), b = random_vec(t.k * t.n, 2), c = random_vec(t.m * t.n, 3);
  int64_t lda = t.ta ? t.m : t.k, ldb = t.tb ? t.k : t.n;
  double worst = 0;
  for (int64_t i = 0; i < t.m; i++)
    for (int64_t j = 0; j < t.n; j++) {
      double s = t.beta * double(c[size_t(i * t.n + j)]);
      for (int64_t p = 0; p < t.k; p++)
        s += double(t.ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]) *
             double(t.tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
      worst = std::max(worst, std::abs(s - double(got[size_t(i * t.n + j)])));
    }
  return worst;
}

} // namespace

TEST_CASE("gemm_split: parts tile the output exactly, columns first, in whole panels") {
  // 500 columns = 16 panels of 32: 8 each, the second part takes the ragged end.
  auto p0 = dlc_rt::gemm_split(100, 500, 12, 32, 2, 0),
       p1 = dlc_rt::gemm_split(100, 500, 12, 32, 2, 1);
  CHECK((p0.i0 == 0 && p0.m == 100 && p0.j0 == 0 && p0.n == 256));
  CHECK((p1.i0 == 0 && p1.m == 100 && p1.j0 == 256 && p1.n == 244));
  // 10 columns = 1 panel, 500 rows = 42 panels of 12: rows, 21 panels each.
  auto r0 = dlc_rt::gemm_split(500, 10, 12, 32, 2, 0),
       r1 = dlc_rt::gemm_split(500, 10, 12, 32, 2, 1);
  CHECK((r0.i0 == 0 && r0.m == 252 && r0.j0 == 0 && r0.n == 10));
  CHECK((r1.i0 == 252 && r1.m == 248 && r1.j0 == 0 && r1.n == 10));
  // More parts than panels: the extra parts get empty blocks.
  auto e = dlc_rt::gemm_split(5, 7, 12, 32, 3, 2);
  CHECK(e.m * e.n == 0);
}

TEST_CASE("gemm on a pool: same bits for 1, 2 and 3 threads as without a pool") {
  const Case cases[] = {
      {false, false, 100, 500, 784, 0.0f}, // MLP forward: a column split
      {true, false, 500, 10, 300, 1.0f},   // 10 columns: a row split, accumulating
      {false, true, 130, 1100, 260, 0.5f}, // crosses MC, NC and KC blocks
      {true, true, 67, 65, 700, 0.0f},
      // >= 8 row panels per thread: teams when A gathers (below), column splits for a
      // plain matrix; these cross NC, KC and (per thread) MC blocks, with ragged row and
      // column panels.
      {false, false, 301, 1100, 600, 1.0f},
      {true, true, 250, 70, 300, 0.5f},
      // Unpacked (gemm_direct.h): few rows split by columns, few columns split by rows,
      // ragged 16-wide column vectors, more than one depth block.
      {false, false, 1, 500, 784, 0.0f},
      {true, false, 3, 1000, 300, 1.0f},
      {false, false, 100, 10, 500, 0.0f},
      {true, false, 500, 10, 100, 0.5f},
      {false, false, 203, 16, 600, 1.0f},
  };
  for (const Case& t : cases) {
    INFO("m=", t.m, " n=", t.n, " k=", t.k, " ta=", t.ta, " tb=", t.tb);
    Vec serial = run_gemm(t, 0);
    CHECK(max_err_vs_naive(t, serial) < 1e-3);
    for (int threads : {1, 2, 3}) {
      CHECK(run_gemm(t, threads) == serial);
      CHECK(run_gemm(t, threads, {}, true) == serial); // teams: B packed by all threads
    }
  }
}

TEST_CASE("gemm_use_team: teams only where every thread gets 8 row panels") {
  CHECK(dlc_rt::gemm_use_team(1024, 12, 2));
  CHECK(dlc_rt::gemm_use_team(192, 12, 2));
  CHECK_FALSE(dlc_rt::gemm_use_team(180, 12, 2)); // 15 panels
  CHECK_FALSE(dlc_rt::gemm_use_team(100, 12, 2)); // the MLP's batch: columns split instead
}

TEST_CASE("gemm on a pool: the bias epilogue follows each part's columns") {
  Vec bias = random_vec(300, 9);
  dlc_rt::Epilogue ep{bias.data(), dlc_rt::Act::relu, 0.0f};
  Case t{false, false, 40, 300, 200, 0.0f};
  Vec serial = run_gemm(t, 0, ep);
  CHECK(run_gemm(t, 2, ep) == serial);
  for (Case other :
       {Case{false, false, 400, 300, 600, 0.0f}, Case{false, false, 1, 300, 600, 0.0f},
        Case{false, false, 300, 10, 600, 0.0f}}) { // team, unpacked few rows, few columns
    Vec other_serial = run_gemm(other, 0, ep), other_plain = run_gemm(other, 0);
    for (int threads : {2, 3}) {
      CHECK(run_gemm(other, threads, ep) == other_serial);
      CHECK(run_gemm(other, threads, ep, true) == other_serial);
    }
    for (size_t i = 0; i < other_plain.size(); i++)
      CHECK(other_serial[i] == std::max(0.0f, other_plain[i] + bias[i % size_t(other.n)]));
  }
  Vec plain = run_gemm(t, 0);
  for (int64_t i = 0; i < t.m; i++)
    for (int64_t j = 0; j < t.n; j++)
      CHECK(serial[size_t(i * t.n + j)] ==
            std::max(0.0f, plain[size_t(i * t.n + j)] + bias[size_t(j)]));
}

TEST_CASE("conv2d on a pool: forward and both backward passes give the serial bits") {
  // n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr: a CNN's first layer, batch 8 (implicit
  // GEMM), and examples/cnn.json's layers (conv2d_direct.h's CW kernels).
  for (dlc_rt::Conv2dGeom g : {dlc_rt::Conv2dGeom{8, 28, 28, 3, 3, 3, 32, 1, 1, 1, 1, 1, 1},
                               dlc_rt::Conv2dGeom{8, 14, 14, 8, 5, 5, 16, 1, 1, 2, 2, 2, 2},
                               dlc_rt::Conv2dGeom{8, 28, 28, 1, 5, 5, 8, 1, 1, 2, 2, 2, 2}}) {
    int64_t in = g.n * g.h * g.w * g.c, out = g.n * g.oh() * g.ow() * g.f,
            wn = g.kh * g.kw * g.c * g.f;
    Vec x = random_vec(in, 4), w = random_vec(wn, 5), dy = random_vec(out, 6);
    dlc_rt::ThreadPool pool(2);
    dlc_rt::GemmOptions par;
    par.pool = &pool;
    Vec y1 = Vec(size_t(out)), y2 = y1, dx1 = Vec(size_t(in)), dx2 = dx1, dw1 = Vec(size_t(wn)),
        dw2 = dw1;
    dlc_rt::conv2d_forward(g, x.data(), w.data(), y1.data());
    dlc_rt::conv2d_forward(g, x.data(), w.data(), y2.data(), {}, par);
    dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx1.data());
    dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx2.data(), 0.0f, par);
    dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw1.data());
    dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw2.data(), 0.0f, par);
    CHECK(y1 == y2);
    CHECK(dx1 == dx2);
    CHECK(dw1 == dw2);
  }
}

TEST_CASE("the default kernel pool is used when the options name none") {
  Case t{false, false, 64, 256, 128, 0.0f};
  Vec serial = run_gemm(t, 0);
  dlc_rt::ThreadPool pool(2);
  dlc_rt::default_kernel_pool() = &pool;
  Vec a = random_vec(t.m * t.k, 1), b = random_vec(t.k * t.n, 2), c = random_vec(t.m * t.n, 3);
  dlc_rt::gemm(false, false, t.m, t.n, t.k, 1.0f, a.data(), t.k, b.data(), t.n, 0.0f, c.data(),
               t.n);
  dlc_rt::default_kernel_pool() = nullptr;
  CHECK(c == serial);
}
