// The convolution and pooling passes of examples/cnn.json, each timed alone: microseconds
// per call and GFLOP/s, best of 7 batches of 5 calls (a shared machine only slows a run).
//   usage: conv_kernels [batch=64] [threads=1] [vgg]
// With `vgg`, the three passes of bench/models/vgg_cifar.json's six 3x3 convolutions.
// Build it against any checkout's runtime to compare kernels, e.g. an older commit's:
//   git archive REV runtime | tar -x -C /tmp/old
//   g++ -std=c++17 -O3 -I/tmp/old -pthread bench/conv_kernels.cpp -o /tmp/conv_old
// (-O3 without -march: the generic build of the runtime that dlc's JIT calls.)
#include "runtime/kernels/kernels.h"
#include "runtime/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F> double best_us(F&& call) {
  call();
  double best = 1e30;
  for (int rep = 0; rep < 7; rep++) {
    double t0 = now_s();
    for (int i = 0; i < 5; i++)
      call();
    best = std::min(best, (now_s() - t0) / 5);
  }
  return best * 1e6;
}

std::vector<float> filled(int64_t n, unsigned salt) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); i++)
    v[i] = float((i * 2654435761u + salt) % 1000) / 1000.0f - 0.5f;
  return v;
}

void report(const char* name, double us, double flops) {
  if (flops > 0)
    std::printf("%-18s %9.1f us %7.1f GFLOP/s\n", name, us, flops / us * 1e-3);
  else
    std::printf("%-18s %9.1f us\n", name, us);
}

} // namespace

// Forward, input gradient and filter gradient of each 3x3 "same" convolution of the
// VGG-style model, with their total.
void vgg(int64_t n, const dlc_rt::GemmOptions& opt) {
  using namespace dlc_rt;
  struct Layer {
    int64_t hw, c, f;
  };
  const Layer layers[] = {{32, 3, 32}, {32, 32, 32}, {16, 32, 64}, {16, 64, 64}, {8, 64, 128}, {8, 128, 128}};
  double total[3] = {0, 0, 0}, flops_all = 0;
  for (const Layer& l : layers) {
    const Conv2dGeom g{n, l.hw, l.hw, l.c, 3, 3, l.f, 1, 1, 1, 1, 1, 1};
    std::vector<float> x = filled(n * l.hw * l.hw * l.c, 1), w = filled(9 * l.c * l.f, 2),
                       y(size_t(n * l.hw * l.hw * l.f)), dy = filled(n * l.hw * l.hw * l.f, 3),
                       dw(size_t(9 * l.c * l.f)), dx(size_t(n * l.hw * l.hw * l.c)), b(size_t(l.f), 0.1f);
    const Epilogue e{b.data(), Act::relu, 0.0f};
    const double flops = 2.0 * double(n) * double(l.hw * l.hw) * double(9 * l.c) * double(l.f);
    char name[64];
    double us[3] = {best_us([&] { conv2d_forward(g, x.data(), w.data(), y.data(), e, opt); }),
                    l.c == 3 ? 0.0 : best_us([&] { conv2d_backward_input(g, dy.data(), w.data(), dx.data(), 0.0f, opt); }),
                    best_us([&] { conv2d_backward_filter(g, x.data(), dy.data(), dw.data(), 0.0f, opt); })};
    const char* pass[3] = {"forward", "dx", "dw"};
    for (int i = 0; i < 3; i++) {
      if (us[i] == 0) continue; // the first layer's input needs no gradient
      std::snprintf(name, sizeof name, "%lldx%lld %s", (long long)l.c, (long long)l.f, pass[i]);
      report(name, us[i], flops);
      total[i] += us[i];
    }
    flops_all += flops;
  }
  report("all forward", total[0], flops_all);
  report("all dw", total[2], flops_all);
}

int main(int argc, char** argv) {
  using namespace dlc_rt;
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 64;
  ThreadPool pool(argc > 2 ? std::atoi(argv[2]) : 1);
  GemmOptions opt;
  opt.pool = &pool;
  if (argc > 3 && std::string(argv[3]) == "vgg") return vgg(n, opt), 0;
  // n, h, w, c, kh, kw, f, sh, sw, pt, pb, pl, pr: examples/cnn.json's two layers.
  const Conv2dGeom g1{n, 28, 28, 1, 5, 5, 8, 1, 1, 2, 2, 2, 2},
      g2{n, 14, 14, 8, 5, 5, 16, 1, 1, 2, 2, 2, 2};
  const Pool2dGeom p1{n, 28, 28, 8, 2, 2, 2, 2, 0, 0, 0, 0},
      p2{n, 14, 14, 16, 2, 2, 2, 2, 0, 0, 0, 0};
  std::vector<float> x1 = filled(n * 784, 1), w1 = filled(200, 2), y1(size_t(n * 784 * 8)),
                     dy1 = filled(n * 784 * 8, 3), dw1(200), b1(8, 0.1f);
  std::vector<float> x2 = filled(n * 196 * 8, 4), w2 = filled(3200, 5), y2(size_t(n * 196 * 16)),
                     dy2 = filled(n * 196 * 16, 6), dw2(3200), dx2(size_t(n * 196 * 8)),
                     b2(16, 0.1f);
  std::vector<float> py1(size_t(n * 196 * 8)), dpx1(size_t(n * 784 * 8)), py2(size_t(n * 49 * 16)),
      dpx2(size_t(n * 196 * 16));
  const Epilogue e1{b1.data(), Act::relu, 0.0f}, e2{b2.data(), Act::relu, 0.0f};
  const double f1 = 2.0 * double(n) * 784 * 25 * 8, f2 = 2.0 * double(n) * 196 * 200 * 16;
  report("conv1 forward",
         best_us([&] { conv2d_forward(g1, x1.data(), w1.data(), y1.data(), e1, opt); }), f1);
  report("conv1 dw",
         best_us([&] { conv2d_backward_filter(g1, x1.data(), dy1.data(), dw1.data(), 0.0f, opt); }),
         f1);
  report("conv2 forward",
         best_us([&] { conv2d_forward(g2, x2.data(), w2.data(), y2.data(), e2, opt); }), f2);
  report("conv2 dx",
         best_us([&] { conv2d_backward_input(g2, dy2.data(), w2.data(), dx2.data(), 0.0f, opt); }),
         f2);
  report("conv2 dw",
         best_us([&] { conv2d_backward_filter(g2, x2.data(), dy2.data(), dw2.data(), 0.0f, opt); }),
         f2);
  default_kernel_pool() = &pool; // pooling splits over the default pool
  report("pool1 forward", best_us([&] { max_pool2d_forward(p1, y1.data(), py1.data()); }), 0);
  report("pool1 backward",
         best_us([&] { max_pool2d_backward(p1, y1.data(), py1.data(), dpx1.data()); }), 0);
  report("pool2 forward", best_us([&] { max_pool2d_forward(p2, y2.data(), py2.data()); }), 0);
  report("pool2 backward",
         best_us([&] { max_pool2d_backward(p2, y2.data(), py2.data(), dpx2.data()); }), 0);
  return 0;
}
