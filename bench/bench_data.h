// What bench/dlc_bench.cpp and bench/emitted_bench.cpp share: the training data (the
// Fashion-MNIST training set from /usr/share/datasets/fashion-mnist, scaled to [0, 1];
// deterministic pseudo-random values of the same shape when the package is missing), one-hot
// targets, the batch-1 latency protocol and argument parsing.
#pragma once

#include "bench/peak.h"
#include "runtime/idx.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace dlc_bench {

struct Data {
  std::vector<float> x, labels; // n x width values (pixels, token ids), n class ids
  int64_t n = 0, width = 784;
  const char* source = "fashion-mnist";
};

// Sequences of `steps` token ids in [0, 64) for the recurrent measures, the same ids as
// torch_bench.py's (sequence_data); labels alternate 0, 1.
inline Data sequence_data(int64_t steps) {
  Data d;
  d.n = 3200, d.width = steps, d.source = "synthetic-ids";
  d.x.resize(size_t(d.n * steps));
  d.labels.resize(size_t(d.n));
  for (int64_t i = 0; i < d.n; i++) {
    for (int64_t t = 0; t < steps; t++) d.x[size_t(i * steps + t)] = float(((i * 131 + t * 71) ^ (i >> 3)) % 64);
    d.labels[size_t(i)] = float(i % 2);
  }
  return d;
}

// Synthetic CIFAR-sized images for the VGG-style model (bench/models/vgg_cifar.json):
// 2048 samples of 32x32x3 values in [0, 1), labels 0..9; torch_bench.py's image_data
// computes the same values. Speed only: nothing is learnt from them.
inline Data image_data() {
  Data d;
  d.n = 2048, d.width = 32 * 32 * 3, d.source = "synthetic-images";
  d.x.resize(size_t(d.n * d.width));
  d.labels.resize(size_t(d.n));
  for (size_t i = 0; i < d.x.size(); i++) d.x[i] = float((uint64_t(i) * 2654435761u) % 1000) / 1000.0f;
  for (size_t i = 0; i < d.labels.size(); i++) d.labels[i] = float(i % 10);
  return d;
}

// Fashion-MNIST for models of 784 inputs, synthetic images for 3072, else token sequences
// of `width` steps.
inline Data load_data(int64_t width = 784) {
  if (width == 32 * 32 * 3) return image_data();
  if (width != 784) return sequence_data(width);
  Data d;
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  try {
    auto x = dlc_rt::read_idx(dir + "train-images-idx3-ubyte.gz");
    auto y = dlc_rt::read_idx(dir + "train-labels-idx1-ubyte.gz");
    d.n = x.shape[0];
    d.x = std::move(x.data);
    for (float& v : d.x) v /= 255.0f;
    d.labels = std::move(y.data);
  } catch (const std::exception&) {
    d.n = 60000, d.source = "random";
    d.x.resize(size_t(d.n * 784));
    d.labels.resize(size_t(d.n));
    for (size_t i = 0; i < d.x.size(); i++) d.x[i] = float((i * 2654435761u) % 1000) / 1000.0f;
    for (size_t i = 0; i < d.labels.size(); i++) d.labels[i] = float(i % 10);
  }
  return d;
}

// Rows [i, i+n) of the labels as one-hot rows of `classes` floats.
inline void one_hot(const Data& d, int64_t i, int64_t n, int64_t classes, float* out) {
  std::fill(out, out + n * classes, 0.0f);
  for (int64_t s = 0; s < n; s++) out[s * classes + int64_t(d.labels[size_t(i + s)])] = 1.0f;
}

// Median microseconds of one call over max(2000, 2000 * seconds) calls.
template <class Call> double median_latency_us(Call&& call, double seconds) {
  std::vector<double> us;
  int64_t calls = std::max<int64_t>(2000, int64_t(seconds * 2000));
  us.reserve(size_t(calls));
  for (int64_t c = 0; c < calls; c++) {
    double t0 = now_s();
    call();
    us.push_back((now_s() - t0) * 1e6);
  }
  std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
  return us[us.size() / 2];
}

// The batch of an inference measure: latency1_* 1, inferN_* N (infer256, infer64); 0
// for other kinds.
inline int64_t inference_batch(const std::string& kind) {
  if (kind == "latency1") return 1;
  if (kind.rfind("infer", 0) != 0 || kind.size() == 5 || kind.size() > 10) return 0;
  for (size_t i = 5; i < kind.size(); i++)
    if (kind[i] < '0' || kind[i] > '9') return 0;
  return std::stoll(kind.substr(5));
}

// A measure's model: examples/NAME.json, else bench/models/NAME.json (the recurrent ones).
inline std::string model_path(const std::string& root, const std::string& name) {
  std::string example = root + "/examples/" + name + ".json";
  FILE* f = std::fopen(example.c_str(), "rb");
  if (f) std::fclose(f);
  return f ? example : root + "/bench/models/" + name + ".json";
}

inline std::string arg_after(int argc, char** argv, const char* flag, const char* fallback) {
  for (int i = 1; i + 1 < argc; i++)
    if (std::strcmp(argv[i], flag) == 0) return argv[i + 1];
  return fallback;
}

} // namespace dlc_bench
