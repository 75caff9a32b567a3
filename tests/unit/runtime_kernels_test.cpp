// The runtime kernels against references: naive double-precision loops written here, the
// reference interpreter's evaluation of the matching IR op, and adjoint identities for
// the backward passes. Sizes are odd on purpose (1, 7, 33, 65: not multiples of any
// micro-tile) and some cross the GEMM's cache blocks (KC = 256, MC = 120, NC = 1024).
#include "ir/interp/interpreter.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/reduce.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using dlc_rt::Act;
using Vec = std::vector<float>;
using Ref = std::vector<double>;

namespace {

Vec random_vec(int64_t n, uint64_t stream, float lo = -1.0f, float hi = 1.0f) {
  Vec v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++)
    v[size_t(i)] = lo + (hi - lo) * dlc_rt::rng_uniform(2024, stream, uint64_t(i));
  return v;
}

// max |got - want| over max(1, max |want|): relative to the result's scale, absolute near 0.
double rel_err(const Vec& got, const Ref& want) {
  REQUIRE(got.size() == want.size());
  double scale = 1, err = 0;
  for (double w : want)
    scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); i++)
    err = std::max(err, std::fabs(double(got[i]) - want[i]));
  return err / scale;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++)
    s += double(a[i]) * double(b[i]);
  return s;
}

double act_ref(Act a, double x, double slope) {
  switch (a) {
  case Act::relu:
    return x > 0 ? x : 0;
  case Act::sigmoid:
    return 1 / (1 + std::exp(-x));
  case Act::tanh:
    return std::tanh(x);
  case Act::leaky_relu:
    return x > 0 ? x : slope * x;
  default:
    return x;
  }
}

// Evaluates one op in the reference interpreter.
dlc::ir::Tensor interp(const std::string& op, const std::vector<dlc::ir::Tensor>& ins,
                       dlc::ir::Attrs attrs = {}) {
  dlc::ir::Graph g;
  dlc::ir::Bindings b;
  std::vector<dlc::ir::ValueId> ids;
  for (size_t i = 0; i < ins.size(); i++) {
    std::string name = "in" + std::to_string(i);
    ids.push_back(g.add_input(name, ins[i].type));
    b[name] = ins[i];
  }
  g.add_output("y", g.add(op, ids, std::move(attrs)));
  return dlc::ir::run_outputs(g, b)[0].second;
}

dlc::ir::Tensor f32_tensor(std::vector<int64_t> shape, const Vec& data) {
  return {dlc::ir::TensorType{dlc::ir::DType::f32, dlc::ir::Shape(std::move(shape))}, data};
}

Ref to_ref(const dlc::ir::Tensor& t) {
  return t.data;
}

std::vector<dlc_rt::GemmKernel> kernels() {
  std::vector<dlc_rt::GemmKernel> ks = {dlc_rt::GemmKernel::portable};
  if (dlc_rt::gemm_kernel_available(dlc_rt::GemmKernel::avx512))
    ks.push_back(dlc_rt::GemmKernel::avx512);
  return ks;
}

struct GemmCase {
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  dlc_rt::Epilogue ep;
};

// Runs the kernel on padded leading dimensions (ld = cols + 3) and checks against a
// double-precision loop; C starts as NaN when beta == 0 (it must not be read).
void check_gemm(const GemmCase& t, dlc_rt::GemmKernel kernel) {
  int64_t ar = t.ta ? t.k : t.m, ac = t.ta ? t.m : t.k, br = t.tb ? t.n : t.k,
          bc = t.tb ? t.k : t.n;
  int64_t lda = ac + 3, ldb = bc + 3, ldc = t.n + 3;
  Vec a = random_vec(ar * lda, 1), b = random_vec(br * ldb, 2), c = random_vec(t.m * ldc, 3);
  if (t.beta == 0) c.assign(c.size(), std::numeric_limits<float>::quiet_NaN());
  Ref want(c.size());
  for (int64_t i = 0; i < t.m; i++)
    for (int64_t j = 0; j < t.n; j++) {
      double s = 0;
      for (int64_t p = 0; p < t.k; p++)
        s += double(t.ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]) *
             double(t.tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
      double v = t.alpha * s + (t.beta == 0 ? 0.0 : t.beta * double(c[size_t(i * ldc + j)]));
      if (t.ep.bias) v += t.ep.bias[j];
      want[size_t(i * ldc + j)] = act_ref(t.ep.act, v, t.ep.slope);
    }
  dlc_rt::gemm(t.ta, t.tb, t.m, t.n, t.k, t.alpha, a.data(), lda, b.data(), ldb, t.beta, c.data(),
               ldc, t.ep, {kernel, nullptr});
  for (int64_t i = 0; i < t.m; i++) // the padding columns of C are left alone
    for (int64_t j = t.n; j < ldc; j++)
      want[size_t(i * ldc + j)] = c[size_t(i * ldc + j)];
  INFO("m=", t.m, " n=", t.n, " k=", t.k, " ta=", t.ta, " tb=", t.tb, " beta=", t.beta,
       " kernel=", int(kernel));
  CHECK(rel_err(c, want) < 1e-5);
}

} // namespace

TEST_CASE("gemm: every transpose on sizes that are not multiples of the micro-tile") {
  for (auto kernel : kernels())
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int64_t m : {1, 7, 33, 65})
          for (int64_t n : {1, 7, 33, 65})
            for (int64_t k : {1, 7, 65})
              check_gemm({ta == 1, tb == 1, m, n, k, 1.0f, 0.0f, {}}, kernel);
}

TEST_CASE("gemm: alpha, beta accumulation and k = 0") {
  for (auto kernel : kernels()) {
    check_gemm({false, false, 13, 9, 17, -0.75f, 1.0f, {}}, kernel); // += into a gradient
    check_gemm({true, false, 13, 9, 17, 2.0f, 0.5f, {}}, kernel);
    check_gemm({false, true, 5, 6, 0, 1.0f, 0.5f, {}}, kernel); // empty depth: C = beta*C
  }
}

TEST_CASE("gemm: blocks larger than the caches' (depth, rows and columns)") {
  for (auto kernel : kernels()) {
    check_gemm({false, false, 9, 11, 300, 1.0f, 0.0f, {}}, kernel);  // K > KC
    check_gemm({false, true, 130, 19, 600, 1.0f, 1.0f, {}}, kernel); // M > MC, beta per block
    check_gemm({true, false, 5, 1030, 3, 1.0f, 0.0f, {}}, kernel);   // N > NC
  }
}

TEST_CASE("gemm: fused bias and activation epilogues apply once, to the final sum") {
  Vec bias = random_vec(70, 9);
  for (auto kernel : kernels())
    for (Act act : {Act::none, Act::relu, Act::sigmoid, Act::tanh, Act::leaky_relu}) {
      dlc_rt::Epilogue ep{bias.data(), act, 0.1f};
      check_gemm({false, false, 33, 65, 7, 1.0f, 0.0f, ep}, kernel);
      check_gemm({true, true, 7, 33, 300, 0.5f, 1.0f, ep}, kernel); // across depth blocks
      check_gemm({false, false, 3, 5, 0, 1.0f, 0.0f, ep}, kernel);
      check_gemm({false, false, 2, 70, 300, 1.0f, 1.0f, ep}, kernel); // unpacked: few rows
      check_gemm({true, false, 40, 10, 300, 0.5f, 0.0f, ep}, kernel); // unpacked: few columns
    }
}

TEST_CASE("gemm: a caller-provided workspace gives the same result") {
  Vec a = random_vec(40 * 50, 1), b = random_vec(50 * 30, 2), c1(40 * 30), c2(40 * 30);
  std::vector<float> ws(size_t(dlc_rt::gemm_workspace_floats()) + 16);
  float* aligned = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) & ~63ull);
  dlc_rt::gemm(false, false, 40, 30, 50, 1, a.data(), 50, b.data(), 30, 0, c1.data(), 30);
  dlc_rt::gemm(false, false, 40, 30, 50, 1, a.data(), 50, b.data(), 30, 0, c2.data(), 30, {},
               {dlc_rt::GemmKernel::automatic, aligned});
  CHECK(c1 == c2);
}

// The packed layout of gemm_pack.h, element by element: A's panels hold MR rows
// depth-major (row r of panel q at dst[q*MR*kc + kk*MR + r]), B's NR columns the same way,
// rows and columns past the edge zero. Depths and widths cross the AVX-512 packers' groups
// of 16, sources sit at an offset inside a larger matrix (leading dimension > width).
TEST_CASE("gemm packing: panels hold op(A) and op(B) depth-major, zero past the edge") {
  const int64_t ld = 53;
  Vec src(size_t(ld * 60));
  for (size_t i = 0; i < src.size(); i++) src[i] = float(i + 1); // no zeros: padding shows
  auto pad = [](int64_t n, int64_t w) { return (n + w - 1) / w * w; };
  for (bool trans : {false, true})
    for (int64_t kc : {1, 15, 16, 17, 40})
      for (int64_t rows : {1, 11, 12, 13, 29, 33}) {
        const int64_t i0 = 3, k0 = 5; // the block's first row (column of B) and depth
        auto elem = [&](int64_t i, int64_t kk) { // op(A)(i, kk), op(B)(kk, i) of the block
          return trans ? src[size_t((k0 + kk) * ld + i0 + i)] : src[size_t((i0 + i) * ld + k0 + kk)];
        };
        Vec pa(size_t(pad(rows, 12) * kc), -1.0f), pb(size_t(pad(rows, 32) * kc), -1.0f);
        dlc_rt::PackMatrixA{src.data(), ld, trans}.pack<12>(i0, rows, k0, kc, pa.data());
        // B stored transposed is op(B)(kk, j) = b[j*ld + kk], A's untransposed layout.
        dlc_rt::PackMatrixB{src.data(), ld, !trans}.pack<32>(k0, kc, i0, rows, pb.data());
        int64_t bad = 0;
        for (int64_t i = 0; i < pad(rows, 12); i++)
          for (int64_t kk = 0; kk < kc; kk++) {
            float want = i < rows ? elem(i, kk) : 0.0f;
            bad += pa[size_t((i / 12) * 12 * kc + kk * 12 + i % 12)] != want;
          }
        for (int64_t j = 0; j < pad(rows, 32); j++)
          for (int64_t kk = 0; kk < kc; kk++) {
            float want = j < rows ? elem(j, kk) : 0.0f;
            bad += pb[size_t((j / 32) * 32 * kc + kk * 32 + j % 32)] != want;
          }
        INFO("trans=", trans, " kc=", kc, " rows=", rows);
        CHECK(bad == 0);
      }
}

namespace {

dlc::ir::Attrs window_attrs(const dlc_rt::Conv2dGeom& g) {
  return {{"strides", std::vector<int64_t>{g.sh, g.sw}},
          {"pads", std::vector<int64_t>{g.pt, g.pb, g.pl, g.pr}}};
}

const dlc_rt::Conv2dGeom conv_cases[] = {
    // n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr
    {2, 7, 6, 3, 3, 2, 5, 1, 1, 0, 0, 0, 0},
    {3, 9, 8, 13, 3, 3, 33, 2, 1, 1, 2, 0, 1},
    {1, 5, 5, 7, 1, 1, 17, 1, 1, 0, 0, 0, 0},
    {2, 6, 7, 1, 5, 5, 8, 1, 1, 2, 2, 2, 2},
    {2, 11, 10, 4, 3, 3, 6, 3, 2, 1, 1, 1, 1},
    {1, 4, 4, 20, 2, 2, 3, 2, 2, 0, 0, 0, 0},
    // The CNN example's layers (conv2d_direct.h): depths and pixel counts over one KC block.
    {2, 14, 14, 8, 5, 5, 16, 1, 1, 2, 2, 2, 2},
    {1, 28, 28, 1, 5, 5, 8, 1, 1, 2, 2, 2, 2},
    // The CW kernels (conv2d_direct.h): 4/8/16 filters (forward, filter gradient) or input
    // channels (input gradient), vertical stride, asymmetric padding, rows over 14 vectors.
    {3, 9, 11, 1, 3, 3, 4, 2, 1, 1, 1, 1, 1},
    {2, 10, 33, 1, 3, 3, 16, 1, 1, 0, 2, 1, 0},
    {2, 9, 7, 8, 3, 3, 4, 1, 1, 1, 1, 1, 1},
    {1, 6, 30, 4, 5, 5, 16, 1, 1, 2, 2, 2, 2},
    {2, 5, 9, 16, 3, 3, 8, 1, 1, 0, 1, 2, 0},
    // 4 filters (4 pixels per vector) on rows of 14 vectors with a 5x5 filter: the
    // forward loop that shares broadcasts between taps, for the widest groups.
    {1, 4, 40, 2, 5, 5, 4, 1, 1, 2, 2, 2, 2},
    // The implicit GEMMs' packers (conv2d.h) at VGG-like widths: depths over one KC block
    // (9*40 = 360, 9*48 = 432), channel runs that cross the 12-row and 32-column panels,
    // filters that leave a part panel, more pixels than one MC row block, stride 2.
    {2, 10, 9, 40, 3, 3, 36, 1, 1, 1, 1, 1, 1},
    {1, 9, 8, 48, 3, 3, 64, 2, 2, 1, 0, 1, 0}};

} // namespace

TEST_CASE("conv2d forward matches the interpreter, with fused bias and activation") {
  for (auto kernel : kernels())
    for (const auto& g : conv_cases) {
      Vec x = random_vec(g.n * g.h * g.w * g.c, 4), w = random_vec(g.kh * g.kw * g.c * g.f, 5);
      Vec bias = random_vec(g.f, 6), y(size_t(g.n * g.oh() * g.ow() * g.f));
      auto want = interp(
          "conv2d", {f32_tensor({g.n, g.h, g.w, g.c}, x), f32_tensor({g.kh, g.kw, g.c, g.f}, w)},
          window_attrs(g));
      REQUIRE(want.numel() == int64_t(y.size()));
      INFO("h=", g.h, " c=", g.c, " k=", g.kh, "x", g.kw, " f=", g.f, " s=", g.sh,
           " kernel=", int(kernel));
      dlc_rt::conv2d_forward(g, x.data(), w.data(), y.data(), {}, {kernel, nullptr});
      CHECK(rel_err(y, to_ref(want)) < 1e-5);
      Ref fused = to_ref(want);
      for (size_t i = 0; i < fused.size(); i++)
        fused[i] = act_ref(Act::relu, fused[i] + bias[i % size_t(g.f)], 0);
      dlc_rt::conv2d_forward(g, x.data(), w.data(), y.data(), {bias.data(), Act::relu},
                             {kernel, nullptr});
      CHECK(rel_err(y, fused) < 1e-5);
    }
}

TEST_CASE("conv2d backward: direct scatter loops and the adjoint identities") {
  for (auto kernel : kernels())
    for (const auto& g : conv_cases) {
      int64_t oh = g.oh(), ow = g.ow();
      Vec x = random_vec(g.n * g.h * g.w * g.c, 4), w = random_vec(g.kh * g.kw * g.c * g.f, 5);
      Vec dy = random_vec(g.n * oh * ow * g.f, 7), y(dy.size());
      // Reference gradients by scattering each output's gradient along the forward loops.
      Ref dx_ref(x.size()), dw_ref(w.size());
      for (int64_t b = 0; b < g.n; b++)
        for (int64_t oy = 0; oy < oh; oy++)
          for (int64_t ox = 0; ox < ow; ox++)
            for (int64_t i = 0; i < g.kh; i++)
              for (int64_t j = 0; j < g.kw; j++) {
                int64_t iy = oy * g.sh + i - g.pt, ix = ox * g.sw + j - g.pl;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                for (int64_t c = 0; c < g.c; c++)
                  for (int64_t f = 0; f < g.f; f++) {
                    size_t xi = size_t(((b * g.h + iy) * g.w + ix) * g.c + c);
                    size_t wi = size_t(((i * g.kw + j) * g.c + c) * g.f + f);
                    double d = dy[size_t(((b * oh + oy) * ow + ox) * g.f + f)];
                    dx_ref[xi] += d * w[wi];
                    dw_ref[wi] += d * x[xi];
                  }
              }
      INFO("h=", g.h, " c=", g.c, " k=", g.kh, "x", g.kw, " f=", g.f, " s=", g.sh,
           " kernel=", int(kernel));
      Vec dx(x.size(), std::numeric_limits<float>::quiet_NaN()), dw(w.size(), 1.0f);
      dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx.data(), 0.0f, {kernel, nullptr});
      dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw.data(), 0.0f, {kernel, nullptr});
      CHECK(rel_err(dx, dx_ref) < 1e-5);
      CHECK(rel_err(dw, dw_ref) < 1e-5);
      // <conv(x, w), dy> = <x, conv_backward_input(dy)> = <w, conv_backward_filter(x, dy)>,
      // to f32 rounding relative to the sums' magnitudes (the terms cancel: with 432-deep
      // products the inner products are ~100 times smaller than the sums of |terms|).
      dlc_rt::conv2d_forward(g, x.data(), w.data(), y.data(), {}, {kernel, nullptr});
      double lhs = dot(y, dy);
      auto abs_dot = [](const Vec& a, const Vec& b) {
        double s = 0;
        for (size_t i = 0; i < a.size(); i++) s += std::fabs(double(a[i]) * double(b[i]));
        return s;
      };
      CHECK(std::fabs(dot(x, dx) - lhs) <= 1e-5 * abs_dot(x, dx));
      CHECK(std::fabs(dot(w, dw) - lhs) <= 1e-5 * abs_dot(w, dw));
      // beta = 1 accumulates into an existing gradient.
      Vec acc = dw;
      dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), acc.data(), 1.0f, {kernel, nullptr});
      for (double& v : dw_ref)
        v *= 2;
      CHECK(rel_err(acc, dw_ref) < 1e-5);
      Vec acc_x = dx;
      dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), acc_x.data(), 1.0f, {kernel, nullptr});
      for (double& v : dx_ref)
        v *= 2;
      CHECK(rel_err(acc_x, dx_ref) < 1e-5);
    }
}

namespace {

const dlc_rt::Pool2dGeom pool_cases[] = {
    // n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr
    {2, 6, 6, 3, 2, 2, 2, 2, 0, 0, 0, 0},
    {1, 7, 5, 70, 3, 3, 2, 2, 1, 1, 1, 1},
    {3, 5, 8, 2, 3, 2, 1, 3, 2, 0, 1, 1},
    {1, 4, 4, 1, 4, 4, 1, 1, 0, 0, 0, 0}};

dlc::ir::Attrs pool_attrs(const dlc_rt::Pool2dGeom& g) {
  return {{"window", std::vector<int64_t>{g.kh, g.kw}},
          {"strides", std::vector<int64_t>{g.sh, g.sw}},
          {"pads", std::vector<int64_t>{g.pt, g.pb, g.pl, g.pr}}};
}

// Inputs drawn from {-2, -1, 0, 1}: windows hold ties, so "the first maximum" matters.
Vec tied_input(int64_t n) {
  Vec v = random_vec(n, 8, -2.0f, 2.0f);
  for (size_t i = 0; i < v.size(); i++) {
    v[i] = std::floor(v[i]);
    if (v[i] == 0.0f && i % 3 == 0) v[i] = -0.0f; // which zero wins shows the window order
  }
  return v;
}

} // namespace

TEST_CASE("conv2d: a workspace of conv2d_workspace_floats() serves all three passes") {
  // The lowering plans this much for every convolution call; the passes must stay inside
  // it (canaries after it) and give what they give with their own per-thread buffers.
  for (auto kernel : kernels())
    for (const auto& g : conv_cases) {
      int64_t in = g.n * g.h * g.w * g.c, out = g.n * g.oh() * g.ow() * g.f,
              wn = g.kh * g.kw * g.c * g.f;
      Vec x = random_vec(in, 4), w = random_vec(wn, 5), dy = random_vec(out, 7),
          bias = random_vec(g.f, 6);
      int64_t floats = dlc_rt::conv2d_workspace_floats(g);
      Vec buffer(static_cast<size_t>(floats + 16 + 64), 12345.0f);
      float* ws = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buffer.data()) + 63) &
                                           ~uintptr_t(63));
      dlc_rt::GemmOptions with{kernel, ws}, without{kernel, nullptr};
      Vec y1(static_cast<size_t>(out)), y2(y1), dx1(static_cast<size_t>(in)), dx2(dx1),
          dw1(static_cast<size_t>(wn)), dw2(dw1);
      dlc_rt::conv2d_forward(g, x.data(), w.data(), y1.data(), {bias.data(), Act::relu}, with);
      dlc_rt::conv2d_forward(g, x.data(), w.data(), y2.data(), {bias.data(), Act::relu}, without);
      dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx1.data(), 0.0f, with);
      dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx2.data(), 0.0f, without);
      dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw1.data(), 0.0f, with);
      dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw2.data(), 0.0f, without);
      INFO("h=", g.h, " c=", g.c, " f=", g.f, " kernel=", int(kernel));
      CHECK(y1 == y2);
      CHECK(dx1 == dx2);
      CHECK(dw1 == dw2);
      bool intact = true;
      for (int64_t i = 0; i < 16; i++)
        intact = intact && ws[floats + i] == 12345.0f;
      CHECK(intact);
    }
}

TEST_CASE("conv2d backward: beta scales what the gradients already hold") {
  for (auto kernel : kernels())
    for (const auto& g : conv_cases) {
      int64_t in = g.n * g.h * g.w * g.c, wn = g.kh * g.kw * g.c * g.f;
      Vec x = random_vec(in, 4), w = random_vec(wn, 5),
          dy = random_vec(g.n * g.oh() * g.ow() * g.f, 7);
      Vec dx0(static_cast<size_t>(in)), dw0(static_cast<size_t>(wn));
      dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx0.data(), 0.0f, {kernel, nullptr});
      dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw0.data(), 0.0f, {kernel, nullptr});
      Vec dx = random_vec(in, 12), dw = random_vec(wn, 13);
      Ref dx_want(dx.size()), dw_want(dw.size());
      for (size_t i = 0; i < dx.size(); i++)
        dx_want[i] = 0.5 * dx[i] + dx0[i];
      for (size_t i = 0; i < dw.size(); i++)
        dw_want[i] = 0.5 * dw[i] + dw0[i];
      INFO("h=", g.h, " c=", g.c, " f=", g.f, " kernel=", int(kernel));
      dlc_rt::conv2d_backward_input(g, dy.data(), w.data(), dx.data(), 0.5f, {kernel, nullptr});
      dlc_rt::conv2d_backward_filter(g, x.data(), dy.data(), dw.data(), 0.5f, {kernel, nullptr});
      CHECK(rel_err(dx, dx_want) < 1e-6);
      CHECK(rel_err(dw, dw_want) < 1e-6);
    }
}

#ifdef DLC_RT_HAVE_AVX512
TEST_CASE("simd: exp, sigmoid and tanh within a few ulp of the C library, edge cases exact") {
  if (!dlc_rt::avx512_usable()) return;
  std::vector<float> xs;
  for (float x = -110.0f; x <= 110.0f; x += 0.0137f)
    xs.push_back(x);
  for (float x = -1.0f; x <= 1.0f; x += 1.0f / 1024)
    xs.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, 0.624f, 0.625f, 0.626f, 88.7f, 88.8f, -87.0f,
                  -103.9f, 1e30f, -1e30f})
    xs.push_back(x);
  xs.resize((xs.size() + 15) / 16 * 16, 0.5f);
  double worst_exp = 0, worst_sig = 0, worst_tanh = 0;
  for (size_t i = 0; i < xs.size(); i += 16) {
    float e[16], s[16], t[16];
    dlc_rt::avx512_activation_test_eval(xs.data() + i, e, s, t);
    for (int l = 0; l < 16; l++) {
      double x = xs[i + size_t(l)];
      double we = std::exp(x), ws = 1 / (1 + std::exp(-x)), wt = std::tanh(x);
      if (we < 1e-37)
        CHECK(e[l] < 2e-37f); // FTZ range: flushed or tiny
      else if (std::isinf(float(we)))
        CHECK(std::isinf(e[l]));
      else
        worst_exp = std::max(worst_exp, std::fabs(e[l] - we) / we);
      worst_sig = std::max(worst_sig, std::fabs(s[l] - ws) / std::max(ws, 1e-30));
      if (wt != 0)
        worst_tanh = std::max(worst_tanh, std::fabs(t[l] - wt) / std::fabs(wt));
      else
        CHECK(t[l] == 0.0f);
    }
  }
  CHECK(worst_exp < 3e-7); // 2.5 ulp at most
  CHECK(worst_sig < 4e-7);
  CHECK(worst_tanh < 4e-7);
  float special[16] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(), 0.0f};
  float e[16], s[16], t[16];
  dlc_rt::avx512_activation_test_eval(special, e, s, t);
  CHECK(std::isnan(e[0]));
  CHECK(std::isnan(s[0]));
  CHECK(std::isnan(t[0]));
  CHECK(std::isinf(e[1]));
  CHECK(s[1] == 1.0f);
  CHECK(t[1] == 1.0f);
  CHECK(e[2] == 0.0f);
  CHECK(s[2] == 0.0f);
  CHECK(t[2] == -1.0f);
  CHECK(e[3] == 1.0f);
  CHECK(s[3] == 0.5f);
  CHECK(t[3] == 0.0f);
}
#endif

TEST_CASE("pooling forward matches the interpreter") {
  for (const auto& g : pool_cases) {
    Vec x = tied_input(g.n * g.h * g.w * g.c), y(size_t(g.n * g.oh() * g.ow() * g.c));
    auto xt = f32_tensor({g.n, g.h, g.w, g.c}, x);
    dlc_rt::max_pool2d_forward(g, x.data(), y.data());
    CHECK(rel_err(y, to_ref(interp("max_pool2d", {xt}, pool_attrs(g)))) == 0);
    x = random_vec(int64_t(x.size()), 9);
    dlc_rt::avg_pool2d_forward(g, x.data(), y.data());
    CHECK(rel_err(y, to_ref(interp("avg_pool2d", {f32_tensor({g.n, g.h, g.w, g.c}, x)},
                                   pool_attrs(g)))) < 1e-6);
  }
}

TEST_CASE("pooling backward: max routes to the first maximum, average by real counts") {
  for (const auto& g : pool_cases) {
    int64_t oh = g.oh(), ow = g.ow();
    Vec x = tied_input(g.n * g.h * g.w * g.c), dy = random_vec(g.n * oh * ow * g.c, 10);
    Ref max_ref(x.size()), avg_ref(x.size());
    for (int64_t b = 0; b < g.n; b++)
      for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++)
          for (int64_t c = 0; c < g.c; c++) {
            int64_t best = -1, count = 0;
            for (int64_t i = 0; i < g.kh; i++)
              for (int64_t j = 0; j < g.kw; j++) {
                int64_t iy = oy * g.sh + i - g.pt, ix = ox * g.sw + j - g.pl;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                int64_t at = ((b * g.h + iy) * g.w + ix) * g.c + c;
                if (best < 0 || x[size_t(at)] > x[size_t(best)]) best = at;
                count++;
              }
            double d = dy[size_t(((b * oh + oy) * ow + ox) * g.c + c)];
            max_ref[size_t(best)] += d;
            for (int64_t i = 0; i < g.kh; i++)
              for (int64_t j = 0; j < g.kw; j++) {
                int64_t iy = oy * g.sh + i - g.pt, ix = ox * g.sw + j - g.pl;
                if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
                  avg_ref[size_t(((b * g.h + iy) * g.w + ix) * g.c + c)] += d / double(count);
              }
          }
    Vec dx(x.size(), std::numeric_limits<float>::quiet_NaN());
    dlc_rt::max_pool2d_backward(g, x.data(), dy.data(), dx.data());
    CHECK(rel_err(dx, max_ref) < 1e-6);
    dlc_rt::avg_pool2d_backward(g, dy.data(), dx.data());
    CHECK(rel_err(dx, avg_ref) < 1e-6);
    Vec y(dy.size()); // adjoint identity of the (linear) average pooling
    dlc_rt::avg_pool2d_forward(g, x.data(), y.data());
    CHECK(dot(x, dx) == doctest::Approx(dot(y, dy)).epsilon(1e-5));
    dlc_rt::avg_pool2d_backward(g, dy.data(), dx.data(), 1.0f); // accumulate
    for (double& v : avg_ref)
      v *= 2;
    CHECK(rel_err(dx, avg_ref) < 1e-6);
  }
}

TEST_CASE("max pooling: portable and AVX-512 loops agree; backward accumulates; threads") {
  // The 2x2 loops: 8 channels (two pixels a vector, an odd last pixel), 16 and 32.
  const dlc_rt::Pool2dGeom more[] = {{16, 28, 28, 8, 2, 2, 2, 2, 0, 0, 0, 0},
                                     {4, 14, 14, 16, 3, 3, 2, 2, 1, 1, 1, 1},
                                     {3, 6, 10, 8, 2, 2, 2, 2, 0, 0, 0, 0},
                                     {2, 14, 14, 16, 2, 2, 2, 2, 0, 0, 0, 0},
                                     {2, 4, 6, 32, 2, 2, 2, 2, 0, 0, 0, 0}};
  std::vector<dlc_rt::Pool2dGeom> cases(std::begin(pool_cases), std::end(pool_cases));
  cases.insert(cases.end(), std::begin(more), std::end(more));
  for (const auto& g : cases) {
    int64_t rows = g.n * g.oh(), out = rows * g.ow() * g.c, in = g.n * g.h * g.w * g.c;
    Vec x = tied_input(in), dy = random_vec(out, 10), y1(static_cast<size_t>(out)), y2(y1);
    dlc_rt::pool_detail::max_forward_rows(g, x.data(), y1.data(), 0, rows);
    dlc_rt::max_pool2d_forward(g, x.data(), y2.data());
    CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0); // zeros' signs too
    bool tiles = dlc_rt::pool_detail::tiles_input(g);
    Vec dx1(size_t(in), 0.0f), dx2(size_t(in), std::numeric_limits<float>::quiet_NaN());
    dlc_rt::pool_detail::max_backward_rows(g, x.data(), dy.data(), dx1.data(), false, 0, rows);
    dlc_rt::max_pool2d_backward(g, x.data(), dy.data(), dx2.data());
    CHECK(dx1 == dx2);
    if (tiles) { // the assigning loop writes every element itself
      Vec dx3(size_t(in), std::numeric_limits<float>::quiet_NaN());
      dlc_rt::pool_detail::max_backward_rows(g, x.data(), dy.data(), dx3.data(), true, 0, rows);
      CHECK(dx3 == dx1);
    }
    Vec acc = random_vec(in, 11); // acc + routed dy: several terms where windows overlap
    Ref want(acc.size());
    for (size_t i = 0; i < want.size(); i++)
      want[i] = double(acc[i]) + dx1[i];
    dlc_rt::max_pool2d_backward(g, x.data(), dy.data(), acc.data(), 1.0f);
    CHECK(rel_err(acc, want) < 1e-6);
    dlc_rt::ThreadPool pool(2); // output rows split across threads: the same bits
    dlc_rt::default_kernel_pool() = &pool;
    Vec y3(static_cast<size_t>(out)), dx4(static_cast<size_t>(in));
    dlc_rt::max_pool2d_forward(g, x.data(), y3.data());
    dlc_rt::max_pool2d_backward(g, x.data(), dy.data(), dx4.data());
    dlc_rt::default_kernel_pool() = nullptr;
    CHECK(y3 == y1);
    CHECK(dx4 == dx1);
  }
}

TEST_CASE("reduce_lines: sums and means give the double reference's bits at any width") {
  // [outer, len, inner]: the column sums of a bias gradient (inner 8, 16, 10), widths that
  // cross the AVX-512 loop's groups of 8 and 32 columns, and one beyond its 256-column block.
  const int64_t shapes[][3] = {{1, 3000, 8}, {1, 700, 16}, {2, 50, 10}, {3, 7, 33},
                               {2, 40, 300}, {1, 9, 1},    {4, 5, 39}};
  for (const auto& s : shapes) {
    int64_t outer = s[0], len = s[1], inner = s[2];
    Vec x = random_vec(outer * len * inner, 14, -1000.0f, 1000.0f);
    for (auto kind : {dlc_rt::Reduce::sum, dlc_rt::Reduce::mean}) {
      Vec y(static_cast<size_t>(outer * inner)), want(y.size());
      dlc_rt::reduce_lines(kind, outer, len, inner, x.data(), y.data());
      for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
          double a = 0;
          for (int64_t k = 0; k < len; k++)
            a += double(x[size_t((o * len + k) * inner + i)]);
          want[size_t(o * inner + i)] = float(kind == dlc_rt::Reduce::mean ? a / double(len) : a);
        }
      INFO("outer=", outer, " len=", len, " inner=", inner);
      CHECK(y == want);
    }
  }
}

TEST_CASE("softmax cross-entropy: loss matches the interpreter, gradient is (p - y) / n") {
  const int64_t n = 7, c = 10;
  Vec z = random_vec(n * c, 11, -4.0f, 4.0f), y(size_t(n * c), 0.0f),
      labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) {
    labels[size_t(i)] = float((i * 3) % c);
    y[size_t(i * c + (i * 3) % c)] = 1.0f;
  }
  auto zt = f32_tensor({n, c}, z);
  dlc::ir::Tensor lt{dlc::ir::TensorType{dlc::ir::DType::i32, dlc::ir::Shape{n}}, labels};
  double dense = interp("softmax_cross_entropy", {zt, f32_tensor({n, c}, y)})[0];
  double sparse = interp("sparse_softmax_cross_entropy", {zt, lt})[0];
  CHECK(dlc_rt::softmax_cross_entropy_forward(n, c, z.data(), y.data()) ==
        doctest::Approx(dense).epsilon(1e-6));
  std::vector<int32_t> ilabels(labels.begin(), labels.end());
  CHECK(dlc_rt::sparse_softmax_cross_entropy_forward(n, c, z.data(), ilabels.data()) ==
        doctest::Approx(sparse).epsilon(1e-6));

  Ref want(z.size());
  for (int64_t i = 0; i < n; i++) {
    double m = -1e300, s = 0;
    for (int64_t k = 0; k < c; k++)
      m = std::max(m, double(z[size_t(i * c + k)]));
    for (int64_t k = 0; k < c; k++)
      s += std::exp(double(z[size_t(i * c + k)]) - m);
    for (int64_t k = 0; k < c; k++)
      want[size_t(i * c + k)] =
          0.5 * (std::exp(double(z[size_t(i * c + k)]) - m) / s - y[size_t(i * c + k)]) / double(n);
  }
  Vec dz(z.size());
  dlc_rt::softmax_cross_entropy_backward(n, c, z.data(), y.data(), dz.data(), 0.5f);
  CHECK(rel_err(dz, want) < 1e-6);
  dlc_rt::sparse_softmax_cross_entropy_backward(n, c, z.data(), ilabels.data(), dz.data(), 0.5f);
  CHECK(rel_err(dz, want) < 1e-6);
  // Float labels (as the IDX reader returns them) name the same classes.
  CHECK(dlc_rt::sparse_softmax_cross_entropy_forward(n, c, z.data(), labels.data()) ==
        doctest::Approx(sparse).epsilon(1e-6));
}

TEST_CASE("softmax cross-entropy: huge logits stay finite, bad labels give NaN, not a read") {
  Vec z = {1000.0f, -1000.0f, 999.0f, 0.0f};
  Vec p(4);
  dlc_rt::softmax_forward(1, 4, z.data(), p.data());
  CHECK(p[0] == doctest::Approx(1 / (1 + std::exp(-1.0))));
  CHECK(p[1] == 0.0f);
  int64_t label = 2;
  CHECK(dlc_rt::sparse_softmax_cross_entropy_forward(1, 4, z.data(), &label) ==
        doctest::Approx(std::log1p(std::exp(-1.0)) + 1.0));
  for (float bad : {-1.0f, 4.0f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    CHECK(dlc_rt::first_bad_label(1, 4, &bad) == 0);
    CHECK(std::isnan(dlc_rt::sparse_softmax_cross_entropy_forward(1, 4, z.data(), &bad)));
    Vec dz(4);
    dlc_rt::sparse_softmax_cross_entropy_backward(1, 4, z.data(), &bad, dz.data());
    CHECK(dz[0] == doctest::Approx(p[0])); // no target: the plain softmax
  }
  uint8_t big = 200; // wider than the class count's type could hold
  CHECK(dlc_rt::first_bad_label(1, 4, &big) == 0);
}

TEST_CASE("epilogue activations: the element-wise ops' formulas") {
  Vec x = random_vec(101, 12, -3.0f, 3.0f), y(x.size());
  x[0] = 0.0f; // the kink takes the slope side
  for (Act act : {Act::none, Act::relu, Act::sigmoid, Act::tanh, Act::leaky_relu}) {
    INFO("act=", int(act));
    Ref fwd(x.size());
    for (size_t i = 0; i < x.size(); i++) fwd[i] = act_ref(act, x[i], 0.2);
    dlc_rt::activation_forward(act, x.data(), y.data(), int64_t(x.size()), 0.2f);
    CHECK(rel_err(y, fwd) < 1e-6);
  }
}

TEST_CASE("bias add and bias gradient") {
  const int64_t rows = 5, cols = 19;
  Vec x = random_vec(rows * cols, 14), b = random_vec(cols, 15), y(x.size()), db(cols, 1.0f);
  dlc_rt::bias_add(rows, cols, x.data(), b.data(), y.data(), Act::relu);
  Ref want(x.size()), grad(size_t(cols), 1.0);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) {
      want[size_t(i * cols + j)] = std::max(0.0, double(x[size_t(i * cols + j)]) + b[size_t(j)]);
      grad[size_t(j)] += x[size_t(i * cols + j)];
    }
  CHECK(rel_err(y, want) < 1e-6);
  dlc_rt::bias_grad(rows, cols, x.data(), db.data(), 1.0f);
  CHECK(rel_err(db, grad) < 1e-6);
}

TEST_CASE("ftz: kernels flush denormals on the calling thread") {
#ifdef DLC_RT_HAVE_MXCSR
  dlc_rt::FtzScope scope;
  CHECK(dlc_rt::ftz_enabled());
  volatile float tiny = 1e-39f; // a denormal: read as zero under DAZ
  CHECK(tiny * 1.0f == 0.0f);
#endif
}
