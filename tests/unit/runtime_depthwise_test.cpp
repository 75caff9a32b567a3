// The depthwise_conv2d kernels (runtime/kernels/depthwise_conv2d.h) against naive
// double-precision loops, with depth multipliers 1 and 3, strides, uneven padding, more
// channels than one block of the filter gradient, and a fused bias + relu; on pools of 2
// and 3 threads every pass gives the serial bits (the filter gradient's parts are whole
// taps and channel blocks, each summed in a fixed order). No timing here.
#include "runtime/kernels/kernels.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using Vec = std::vector<float>;

namespace {

Vec random_vec(int64_t n, uint64_t stream) {
  Vec v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v[size_t(i)] = 2.0f * dlc_rt::rng_uniform(42, stream, uint64_t(i)) - 1.0f;
  return v;
}

struct Passes {
  Vec y, dx, dw;
};

// The three passes, forward with bias + relu, on `pool` (null: serial).
Passes run(const dlc_rt::Conv2dGeom& g, const Vec& x, const Vec& w, const Vec& bias, const Vec& dy,
           dlc_rt::ThreadPool* pool) {
  dlc_rt::ScopedKernelPool scope(pool);
  Passes p{Vec(dy.size()), Vec(x.size(), 7.0f), Vec(w.size(), 7.0f)}; // gradients are written, not added
  dlc_rt::depthwise_conv2d_forward(g, x.data(), w.data(), p.y.data(), {bias.data(), dlc_rt::Act::relu, 0.0f});
  dlc_rt::depthwise_conv2d_backward_input(g, dy.data(), w.data(), p.dx.data());
  dlc_rt::depthwise_conv2d_backward_filter(g, x.data(), dy.data(), p.dw.data());
  return p;
}

void check_near(const Vec& got, const std::vector<double>& want, const char* what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    INFO(what, "[", i, "]");
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5).scale(1));
  }
}

} // namespace

TEST_CASE("depthwise_conv2d kernels: values against naive loops, the same bits on 2 and 3 threads") {
  // n, h, w, c, kh, kw, m, sh, sw, pt, pb, pl, pr
  for (dlc_rt::Conv2dGeom g : {dlc_rt::Conv2dGeom{2, 7, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                               dlc_rt::Conv2dGeom{3, 9, 8, 5, 3, 2, 3, 2, 2, 1, 0, 0, 1},
                               dlc_rt::Conv2dGeom{4, 12, 11, 70, 3, 3, 2, 2, 1, 0, 1, 1, 1}}) {
    CAPTURE(g.c);
    const int64_t oh = g.oh(), ow = g.ow(), cm = g.c * g.f;
    Vec x = random_vec(g.n * g.h * g.w * g.c, 1), w = random_vec(g.kh * g.kw * cm, 2), bias = random_vec(cm, 3),
        dy = random_vec(g.n * oh * ow * cm, 4);
    std::vector<double> y(dy.size()), dx(x.size()), dw(w.size());
    for (int64_t b = 0; b < g.n; b++)
      for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++)
          for (int64_t i = 0; i < g.kh; i++)
            for (int64_t j = 0; j < g.kw; j++) {
              int64_t iy = oy * g.sh + i - g.pt, ix = ox * g.sw + j - g.pl;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (int64_t o = 0; o < cm; o++) {
                size_t yi = size_t(((b * oh + oy) * ow + ox) * cm + o), xi = size_t(((b * g.h + iy) * g.w + ix) * g.c + o / g.f),
                       wi = size_t((i * g.kw + j) * cm + o);
                y[yi] += double(x[xi]) * w[wi];
                dx[xi] += double(dy[yi]) * w[wi];
                dw[wi] += double(x[xi]) * dy[yi];
              }
            }
    for (size_t i = 0; i < y.size(); i++) y[i] = std::max(0.0, y[i] + bias[i % size_t(cm)]);
    Passes serial = run(g, x, w, bias, dy, nullptr);
    check_near(serial.y, y, "y");
    check_near(serial.dx, dx, "dx");
    check_near(serial.dw, dw, "dw");
    for (int threads : {2, 3}) {
      dlc_rt::ThreadPool pool(threads);
      Passes par = run(g, x, w, bias, dy, &pool);
      CHECK(par.y == serial.y);
      CHECK(par.dx == serial.dx);
      CHECK(par.dw == serial.dw);
    }
  }
}
