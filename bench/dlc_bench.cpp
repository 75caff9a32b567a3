// dlc side of the benchmark: the measures of bench/torch_bench.py, through the LLVM JIT
// (codegen/jit_backend.h), same protocol: `dlc_bench MEASURE [--seconds S] [--threads T]`
// prints `result MEASURE VALUE UNIT detail`. Data: Fashion-MNIST's training images
// (/usr/share/datasets/fashion-mnist), random values of the same shape when missing.
// Kernels run on a pool of T threads (default 2) through dlc_rt::default_kernel_pool().
#include "bench/bench_data.h"
#include "codegen/jit_backend.h"
#include "pipeline/pipeline.h"
#include "frontend/model.h"
#include "runtime/kernels/gemm.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// The training target of samples [i, i+n): i32 labels or one-hot f32, as the model wants.
struct Targets {
  std::vector<int32_t> ids;
  std::vector<float> onehot;
  bool integer;
  const void* at(const dlc_bench::Data& d, int64_t i, int64_t n) {
    if (integer) {
      ids.resize(size_t(n));
      for (int64_t s = 0; s < n; s++) ids[size_t(s)] = int32_t(d.labels[size_t(i + s)]);
      return ids.data();
    }
    onehot.resize(size_t(n * 10));
    dlc_bench::one_hot(d, i, n, 10, onehot.data());
    return onehot.data();
  }
};

using dlc::codegen::JitModel;

JitModel make_model(const dlc::frontend::Model& m, int64_t batch, bool train) {
  dlc::codegen::ProgramSource source = dlc::pipeline::jit_source(m, batch);
  source.can_train = train;
  return JitModel(source);
}

double train_rate(const dlc::frontend::Model& m, const dlc_bench::Data& d, double seconds) {
  int64_t bs = m.training.batch_size;
  JitModel jit = make_model(m, bs, true);
  jit.init(1);
  jit.compile_training();
  Targets t{{}, {}, dlc::ir::is_integer(jit.targets()[0].type.dtype)};
  float lr = float(m.training.optimizer.hyper.at("lr"));
  int64_t steps_per_epoch = d.n / bs, step = 0;
  auto one = [&] {
    int64_t i = (step % steps_per_epoch) * bs;
    jit.train_step({d.x.data() + i * d.width}, {t.at(d, i, bs)}, bs, lr, step);
    step++;
  };
  for (int w = 0; w < 20; w++) one();
  int64_t start = step;
  double t0 = dlc_bench::now_s();
  while (dlc_bench::now_s() - t0 < seconds)
    for (int r = 0; r < 10; r++) one();
  return double((step - start) * bs) / (dlc_bench::now_s() - t0);
}

// Batch 1: median latency in us over >= 2000 calls; else samples/s.
double infer_measure(const dlc::frontend::Model& m, const dlc_bench::Data& d, int64_t batch, double seconds) {
  JitModel jit = make_model(m, batch, false);
  jit.init(1);
  jit.compile_inference();
  std::vector<float> out(size_t(jit.outputs()[0].type.shape.numel()));
  auto call = [&] { jit.infer({d.x.data()}, {out.data()}, batch); };
  for (int w = 0; w < 50; w++) call();
  if (batch == 1) {
    return dlc_bench::median_latency_us(call, seconds);
  }
  int64_t n = 0;
  double t0 = dlc_bench::now_s();
  while (dlc_bench::now_s() - t0 < seconds) call(), n += batch;
  return double(n) / (dlc_bench::now_s() - t0);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dlc_bench MEASURE [--seconds S] [--threads T]\n");
    return 2;
  }
  std::string measure = argv[1];
  double seconds = std::stod(dlc_bench::arg_after(argc, argv, "--seconds", "2"));
  dlc_rt::ThreadPool pool(std::stoi(dlc_bench::arg_after(argc, argv, "--threads", "2")));
  dlc_rt::default_kernel_pool() = &pool;
  std::string kind = measure.substr(0, measure.find('_')), name = measure.substr(kind.size() + 1);
  try {
    auto model = dlc::frontend::load_model(dlc_bench::model_path(DLC_BENCH_ROOT, name));
    dlc_bench::Data d = dlc_bench::load_data(model.inputs.at(0).shape.numel());
    double value;
    const char* unit = "samples/s";
    int64_t batch = dlc_bench::inference_batch(kind);
    if (kind == "train") value = train_rate(model, d, seconds);
    else if (batch > 0) value = infer_measure(model, d, batch, seconds), unit = batch == 1 ? "us" : "samples/s";
    else throw std::runtime_error("unknown measure " + measure);
    std::printf("result %s %.2f %s backend=jit data=%s\n", measure.c_str(), value, unit, d.source);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlc_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
