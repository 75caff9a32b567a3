// dlc's emitted C++ side of the benchmark: a model compiled by `dlc compile` (net.h +
// net.cpp, built with g++ -O3 -march=native beside this file by bench/run.py), timed with
// the protocol of bench/dlc_bench.cpp and bench/torch_bench.py:
//   emitted_bench MEASURE [--seconds S] [--threads T]
// prints `result MEASURE VALUE UNIT detail`. run.py compiles one program per measure: the
// training program at the model's batch size (train_*), the inference program at batch 1
// (latency1_*) or N (inferN_*: infer256, infer64). Data: Fashion-MNIST's training images, random values
// of the same shape when missing (bench/bench_data.h).
#include "bench/bench_data.h"
#include "bench/peak.h"
#include "net.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

#ifdef NET_TARGET_SIZE // a training program (dlc compile --train)
double train_rate(net_ctx* ctx, const dlc_bench::Data& d, double seconds) {
  const int bs = NET_BATCH;
  int64_t steps_per_epoch = d.n / bs, step = 0;
  std::vector<float> target(size_t(bs) * NET_TARGET_SIZE);
  auto one = [&] {
    int64_t i = (step % steps_per_epoch) * bs;
    if (NET_TARGET_SIZE == 1) // sparse labels: class ids as floats
      std::copy(d.labels.begin() + i, d.labels.begin() + i + bs, target.begin());
    else
      dlc_bench::one_hot(d, i, bs, NET_TARGET_SIZE, target.data());
    float loss = net_train_step(ctx, d.x.data() + i * NET_INPUT_SIZE, target.data(), bs);
    if (loss != loss) throw std::runtime_error(std::string("train_step: ") + net_error(ctx));
    step++;
  };
  for (int w = 0; w < 20; w++) one();
  int64_t start = step;
  double t0 = dlc_bench::now_s();
  while (dlc_bench::now_s() - t0 < seconds)
    for (int r = 0; r < 10; r++) one();
  return double((step - start) * bs) / (dlc_bench::now_s() - t0);
}
#endif

double infer_measure(net_ctx* ctx, const dlc_bench::Data& d, double seconds) {
  const int batch = NET_BATCH;
  std::vector<float> out(size_t(batch) * NET_OUTPUT_SIZE);
  auto call = [&] {
    if (net_infer(ctx, d.x.data(), out.data(), batch) != 0)
      throw std::runtime_error(std::string("infer: ") + net_error(ctx));
  };
  for (int w = 0; w < 50; w++) call();
  if (batch == 1) return dlc_bench::median_latency_us(call, seconds);
  int64_t n = 0;
  double t0 = dlc_bench::now_s();
  while (dlc_bench::now_s() - t0 < seconds) call(), n += batch;
  return double(n) / (dlc_bench::now_s() - t0);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: emitted_bench MEASURE [--seconds S] [--threads T]\n");
    return 2;
  }
  std::string measure = argv[1];
  double seconds = std::stod(dlc_bench::arg_after(argc, argv, "--seconds", "2"));
  int threads = std::stoi(dlc_bench::arg_after(argc, argv, "--threads", "2"));
  net_ctx* ctx = net_create();
  if (!ctx) return std::fprintf(stderr, "emitted_bench: out of memory\n"), 1;
  int used = net_set_threads(ctx, threads);
  try {
    dlc_bench::Data d = dlc_bench::load_data(NET_INPUT_SIZE);
    net_init(ctx, 1);
    double value;
    const char* unit = "samples/s";
    std::string kind = measure.substr(0, measure.find('_'));
#ifdef NET_TARGET_SIZE
    if (kind == "train") value = train_rate(ctx, d, seconds);
#else
    if (kind == "train") throw std::runtime_error("not a training program");
#endif
    else if (dlc_bench::inference_batch(kind) == NET_BATCH) value = infer_measure(ctx, d, seconds), unit = NET_BATCH == 1 ? "us" : "samples/s";
    else throw std::runtime_error("unknown measure " + measure + " for a program of batch " + std::to_string(NET_BATCH));
    std::printf("result %s %.2f %s backend=emitted-c++ threads=%d batch=%d data=%s\n",
                measure.c_str(), value, unit, used, NET_BATCH, d.source);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "emitted_bench: %s\n", e.what());
    net_destroy(ctx);
    return 1;
  }
  net_destroy(ctx);
  return 0;
}
