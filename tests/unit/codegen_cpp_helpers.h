// Helpers of the emitted-C++ tests: compile a model with codegen/cpp, build it with a
// system compiler beside tests/fixtures/codegen/driver.cpp, run it on random data, and
// compute the same things with the reference interpreter.
#pragma once

#include "codegen/cpp/emit.h"
#include "pipeline/pipeline.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "passes/train_step.h"
#include "passes/training.h"
#include "runtime/rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace dlc::test_cpp {

namespace fs = std::filesystem;

inline std::string example(const std::string& name) { return std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json"; }

// A fresh directory for one build.
inline fs::path work_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("dlc_cpp_" + std::to_string(getpid()) + "_" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_floats(const fs::path& p, const std::vector<float>& v) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
}

inline std::vector<float> read_floats(const fs::path& p) {
  std::string s = read_text(p);
  std::vector<float> v(s.size() / 4);
  std::memcpy(v.data(), s.data(), v.size() * 4);
  return v;
}

// Runs a shell command; returns its exit status, its output in `log`.
inline int shell(const std::string& cmd, std::string& log, const fs::path& dir) {
  fs::path out = dir / "shell.log";
  int rc = std::system((cmd + " > '" + out.string() + "' 2>&1").c_str());
  log = read_text(out);
  return rc;
}

struct Build {
  fs::path dir, exe;
};

// Emits `model` as net.cpp, net.h and dlc_runtime.h (prefix net) into `dir`.
inline void emit_files(const fs::path& dir, const frontend::Model& model, codegen::CppOptions o,
                       const ir::Bindings* weights = nullptr) {
  o.name = "net";
  codegen::CppFiles f = pipeline::emit_cpp(model, weights, o);
  write_text(dir / "net.cpp", f.source);
  write_text(dir / "net.h", f.header);
  write_text(dir / codegen::kRuntimeHeaderFile, f.runtime);
}

// Emits `model` as net.cpp/net.h (prefix net) and builds it with the driver.
inline Build build(const frontend::Model& model, codegen::CppOptions o, const std::string& compiler,
                   const std::string& flags, const std::string& tag, const ir::Bindings* weights = nullptr) {
  Build b{work_dir(tag), {}};
  emit_files(b.dir, model, o, weights);
  b.exe = b.dir / "driver";
  std::string log;
  std::string cmd = compiler + " -std=c++17 -Wall -Wextra -Werror " + flags + " -I '" + b.dir.string() + "' '" +
                    DLC_SOURCE_DIR + "/tests/fixtures/codegen/driver.cpp' '" + (b.dir / "net.cpp").string() +
                    "' -o '" + b.exe.string() + "'";
  int rc = shell(cmd, log, b.dir);
  INFO("build: ", cmd, "\n", log.substr(0, 4000));
  REQUIRE(rc == 0);
  return b;
}

// Deterministic data in [-1, 1).
inline std::vector<float> random_floats(int64_t n, uint64_t stream) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v[size_t(i)] = 2.0f * dlc_rt::rng_uniform(7, stream, uint64_t(i)) - 1.0f;
  return v;
}

// Class ids in [0, classes), one per sample.
inline std::vector<int64_t> random_labels(int64_t n, int64_t classes, uint64_t stream) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v[size_t(i)] = int64_t(dlc_rt::rng_uniform(9, stream, uint64_t(i)) * float(classes));
  return v;
}

inline int64_t per_sample(const ir::TensorType& t) { return t.shape.numel() / t.shape[0]; }

// A training graph's target input ("target", or "target.<output>" with several losses).
inline bool is_target(const std::string& name) { return name == "target" || name.rfind("target.", 0) == 0; }

// The model's inputs of one batch of n samples, cut from `x` laid out as net_infer takes it.
inline ir::Bindings input_bindings(const ir::Graph& g, const std::vector<float>& x, int64_t n) {
  ir::Bindings b;
  size_t at = 0;
  for (ir::ValueId v : g.inputs()) {
    if (is_target(g.value(v).name) || g.value(v).name == "lr") continue;
    ir::TensorType t = g.type(v);
    size_t count = size_t(n * per_sample(t));
    b[g.value(v).name] = ir::Tensor(t, std::vector<float>(x.begin() + long(at), x.begin() + long(at + count)));
    at += count;
  }
  return b;
}

inline int64_t input_size(const ir::Graph& g) {
  int64_t s = 0;
  for (ir::ValueId v : g.inputs())
    if (!is_target(g.value(v).name) && g.value(v).name != "lr") s += per_sample(g.type(v));
  return s;
}

// max |a - b| / max |b|: the relative error of a whole tensor.
inline double relative_error(const std::vector<float>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); i++) {
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

// Runs the built driver; fails the test when it fails.
inline void run(const Build& b, const std::string& args) {
  std::string log;
  int rc = shell("cd '" + b.dir.string() + "' && '" + b.exe.string() + "' " + args, log, b.dir);
  INFO("run: ", args, "\n", log.substr(0, 4000));
  REQUIRE(rc == 0);
}

// ---- parity with the interpreter ---------------------------------------------------

constexpr uint64_t kSeed = 3; // the driver's net_init seed and the interpreter's

// The model's outputs from the interpreter, concatenated as net_infer writes them.
inline std::vector<double> reference_outputs(const frontend::Model& m, int64_t n, const std::vector<float>& x,
                                             uint64_t seed = kSeed) {
  ir::Graph g = frontend::build_model(m, n).graph;
  ir::Bindings b = ir::init_params(g, seed);
  for (auto& [name, t] : input_bindings(g, x, n)) b[name] = t;
  std::vector<double> out;
  for (auto& [name, t] : ir::run_outputs(g, b)) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

// `driver_seed`: how the driver gets its weights (a seed, "embedded", "load:PATH");
// `seed`: the interpreter's weights are those of this seed.
inline void check_inference(const frontend::Model& m, const Build& b, int64_t n,
                            const std::string& driver_seed = std::to_string(kSeed), uint64_t seed = kSeed) {
  ir::Graph g = frontend::build_model(m, n).graph;
  std::vector<float> x = random_floats(n * input_size(g), 1);
  write_floats(b.dir / "x.bin", x);
  run(b, fmt::format("infer {} {} x.bin y.bin", driver_seed, n));
  std::vector<double> want = reference_outputs(m, n, x, seed);
  std::vector<float> got = read_floats(b.dir / "y.bin");
  INFO(m.name, " inference, n = ", n);
  CHECK(relative_error(got, want) <= 1e-5);
}

// Targets of `samples` samples in batches of n, laid out as net_train_step takes them
// (each batch: every loss's targets, n samples each): one-hot rows, or class ids for
// integer targets; one class per sample, or per step of a sequence output.
inline std::vector<float> targets(const passes::TrainingGraph& tg, int64_t samples, int64_t n) {
  std::vector<std::vector<float>> per_target;
  for (size_t k = 0; k < tg.targets.size(); k++) {
    const ir::TensorType& target = tg.graph.type(tg.targets[k]);
    const std::string name = tg.graph.value(tg.targets[k]).name;
    ir::ValueId output = tg.graph.outputs()[0].value;
    for (auto& o : tg.graph.outputs())
      if (name == "target." + o.name) output = o.value;
    const ir::Shape& out = tg.graph.type(output).shape;
    int64_t classes = out[out.rank() - 1];
    bool ids = target.dtype != ir::DType::f32;
    int64_t positions = samples * (ids ? per_sample(target) : per_sample(target) / classes);
    std::vector<int64_t> labels = random_labels(positions, classes, 2 + k);
    if (ids) {
      per_target.emplace_back(labels.begin(), labels.end());
      continue;
    }
    std::vector<float> t(size_t(positions * classes), 0.0f);
    for (int64_t i = 0; i < positions; i++) t[size_t(i * classes + labels[size_t(i)])] = 1.0f;
    per_target.push_back(t);
  }
  std::vector<float> t;
  for (int64_t begin = 0; begin < samples; begin += n)
    for (size_t k = 0; k < per_target.size(); k++) {
      int64_t per = int64_t(per_target[k].size()) / samples;
      t.insert(t.end(), per_target[k].begin() + begin * per, per_target[k].begin() + (begin + n) * per);
    }
  return t;
}

// Adam's first step is -lr g / (|g| + epsilon): where |g| is near epsilon (1e-7), f32
// rounding of g (1e-7 relative to the largest gradient) moves the step by up to 1e-2 of
// lr in either backend. A larger epsilon keeps the comparison of one step's changes well
// conditioned; the formula and every code path stay the same.
// Every activation that is not in an example model, one per layer, and maxout.
inline const char* kActivationsModel = R"({
  "name": "activations",
  "input_shape": [6],
  "layers": [{"type": "dense", "units": 8, "activation": "elu"},
             {"type": "dense", "units": 8, "activation": {"type": "elu", "alpha": 0.5}},
             {"type": "dense", "units": 8, "activation": "selu"},
             {"type": "dense", "units": 8, "activation": "gelu"},
             {"type": "dense", "units": 8, "activation": {"type": "gelu", "approximate": true}},
             {"type": "dense", "units": 8, "activation": "swish"},
             {"type": "dense", "units": 8, "activation": "hard_sigmoid"},
             {"type": "dense", "units": 8, "activation": "mish"},
             {"type": "dense", "units": 8, "activation": "softsign"},
             {"type": "dense", "units": 8, "activation": {"type": "maxout", "k": 2}},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// Layer normalisation, then global pooling, 2-D and 1-D, average and max, feeding one head;
// l1 and l2 regularizers (issue #18).
inline const char* kGlobalPoolingModel = R"({
  "name": "global_pooling",
  "inputs": [{"name": "image", "shape": [5, 5, 2]}],
  "layers": [{"type": "conv2d", "name": "conv0", "inputs": "image", "filters": 4, "kernel_size": 3, "activation": "tanh",
              "kernel_regularizer": "l1", "kernel_constraint": {"type": "max_norm", "max_value": 0.5, "axis": [0, 1, 2]}},
             {"type": "layer_normalization", "name": "conv", "inputs": "conv0"},
             {"type": "global_average_pooling2d", "name": "gap", "inputs": "conv"},
             {"type": "global_max_pooling2d", "name": "gmp", "inputs": "conv"},
             {"type": "reshape", "name": "rows", "inputs": "conv", "target_shape": [9, 4]},
             {"type": "global_average_pooling1d", "name": "sap", "inputs": "rows"},
             {"type": "global_max_pooling1d", "name": "smp", "inputs": "rows"},
             {"type": "concat", "name": "all", "inputs": ["gap", "gmp", "sap", "smp"]},
             {"type": "dense", "name": "head", "inputs": "all", "units": 3, "activation": "softmax",
              "kernel_regularizer": {"type": "l1_l2", "l1": 0.001, "l2": 0.01}, "bias_regularizer": "l2",
              "bias_constraint": "non_neg"}],
  "outputs": "head",
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// batch_normalization after a convolution (NHWC channels) and after a dense layer, with
// Keras's and non-default momentum/epsilon: batch statistics and running averages in
// training, running statistics in inference. The layers before batch_normalization have
// no bias, as usual: the normalisation cancels it (its gradient is zero up to rounding).
inline const char* kBatchNormModel = R"({
  "name": "batch_norm",
  "input_shape": [5, 5, 2],
  "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3, "use_bias": false},
             {"type": "batch_normalization", "name": "bn_conv", "momentum": 0.5},
             {"type": "activation", "activation": "relu"},
             {"type": "flatten"},
             {"type": "dense", "units": 6, "use_bias": false},
             {"type": "batch_normalization", "name": "bn_dense", "epsilon": 0.01, "center": false},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "batch_size": 4
})";

// conv1d (causal, same with a stride) and the 1-D pools over [batch, steps, channels].
inline const char* kConv1dModel = R"({
  "name": "conv1d",
  "input_shape": [9, 2],
  "layers": [{"type": "conv1d", "filters": 4, "kernel_size": 3, "padding": "causal", "activation": "relu"},
             {"type": "max_pool1d"},
             {"type": "conv1d", "filters": 3, "kernel_size": 2, "strides": 2, "padding": "same", "activation": "tanh"},
             {"type": "avg_pool1d", "pool_size": 2, "strides": 1, "padding": "same"},
             {"type": "flatten"},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// upsampling2d and conv2d_transpose between convolutions (a generator's or a decoder's shape).
inline const char* kUpsamplingModel = R"({
  "name": "upsampling",
  "input_shape": [3, 3, 1],
  "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 2, "activation": "tanh"},
             {"type": "upsampling2d", "size": [2, 3]},
             {"type": "conv2d_transpose", "filters": 3, "kernel_size": 3, "strides": 2, "padding": "same",
              "activation": "relu"},
             {"type": "conv2d", "filters": 2, "kernel_size": 3, "strides": 2, "activation": "relu"},
             {"type": "flatten"},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// MobileNet's block: depthwise_conv2d (bias + relu fused, depth multiplier 2, stride 2
// "same"), a pointwise conv2d, and a second depthwise_conv2d (no bias, leaky_relu) whose
// input gradient runs.
inline const char* kDepthwiseModel = R"({
  "name": "depthwise",
  "input_shape": [7, 6, 2],
  "layers": [{"type": "depthwise_conv2d", "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2,
              "activation": "relu"},
             {"type": "conv2d", "filters": 3, "kernel_size": 1, "activation": "tanh"},
             {"type": "depthwise_conv2d", "kernel_size": [2, 3], "use_bias": false,
              "activation": {"type": "leaky_relu", "alpha": 0.1}},
             {"type": "flatten"},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// Every augmentation layer after a convolution (so that their gradients run), with
// bilinear and nearest sampling, each fill mode and a crop that changes the size.
inline const char* kAugmentModel = R"({
  "name": "augment",
  "input_shape": [6, 5, 2],
  "layers": [{"type": "random_flip"},
             {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "tanh"},
             {"type": "random_rotation", "factor": 0.1},
             {"type": "random_zoom", "height_factor": [-0.3, 0.2], "width_factor": 0.1, "fill_mode": "constant",
              "fill_value": 0.5},
             {"type": "random_translation", "height_factor": 0.2, "width_factor": 0.2, "fill_mode": "wrap",
              "interpolation": "nearest"},
             {"type": "random_crop", "height": 4, "width": 4, "padding": 1},
             {"type": "flatten"},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// Keras's recurrent features together (docs/recurrent.md): a bidirectional LSTM encoder
// with return_state, a go_backwards decoder started from the forward states, a pooled
// summary repeated at each decoder step (repeat_vector), per-step softmax; a state is an
// output besides the loss's.
inline const char* kKerasRecurrentModel = R"({
  "name": "keras_recurrent",
  "inputs": [{"name": "src", "shape": [5, 3]}, {"name": "tgt", "shape": [4, 3]}],
  "outputs": ["out", "enc.backward.c"],
  "layers": [{"type": "bidirectional", "name": "enc", "inputs": "src",
              "layer": {"type": "lstm", "units": 4, "return_sequences": true, "return_state": true}},
             {"type": "lstm", "name": "dec", "inputs": ["tgt", "enc.forward.h", "enc.forward.c"], "units": 4,
              "go_backwards": true, "return_sequences": true},
             {"type": "global_average_pooling1d", "name": "pool", "inputs": "enc"},
             {"type": "repeat_vector", "name": "context", "inputs": "pool", "n": 4},
             {"type": "concat", "name": "joined", "inputs": ["dec", "context"]},
             {"type": "time_distributed", "name": "out", "inputs": "joined",
              "layer": {"type": "dense", "units": 3, "activation": "softmax"}}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// Masking (docs/recurrent.md): relu zeroes the negative inputs, so about a quarter of the
// random steps are all zero and the masking layer marks them padding; the mask goes
// through a bidirectional GRU and a go_backwards LSTM (reversed) into a masked per-step
// loss.
inline const char* kMaskedModel = R"({
  "name": "masked",
  "input_shape": [5, 2],
  "layers": [{"type": "activation", "activation": "relu"},
             {"type": "masking"},
             {"type": "bidirectional", "layer": {"type": "gru", "units": 3, "return_sequences": true}},
             {"type": "lstm", "units": 4, "return_sequences": true, "go_backwards": true},
             {"type": "time_distributed", "layer": {"type": "dense", "units": 3, "activation": "softmax"}}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// Two inputs and three trained outputs (Keras's loss dict and loss_weights, issue #19):
// sparse labels on a softmax, binary cross-entropy on a sigmoid, mse on a linear head.
inline const char* kMultiOutputModel = R"({
  "name": "multi_output",
  "inputs": [{"name": "image", "shape": [4, 4, 1]}, {"name": "meta", "shape": [3]}],
  "layers": [{"type": "conv2d", "name": "conv", "inputs": "image", "filters": 2, "kernel_size": 3, "activation": "relu"},
             {"type": "flatten", "name": "flat", "inputs": "conv"},
             {"type": "dense", "name": "meta_features", "inputs": "meta", "units": 4, "activation": "tanh"},
             {"type": "concat", "name": "features", "inputs": ["flat", "meta_features"]},
             {"type": "dense", "name": "digit", "inputs": "features", "units": 3, "activation": "softmax"},
             {"type": "dense", "name": "flag", "inputs": "features", "units": 1, "activation": "sigmoid"},
             {"type": "dense", "name": "score", "inputs": "meta_features", "units": 2}],
  "outputs": ["digit", "flag", "score"],
  "loss": {"digit": "sparse_categorical_crossentropy", "flag": "binary_crossentropy", "score": "mse"},
  "loss_weights": {"flag": 0.25, "score": 0.5},
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

inline void well_conditioned(frontend::Model& m) {
  auto& hyper = m.training.optimizer.hyper;
  if (hyper.count("epsilon")) hyper["epsilon"] = 1e-3;
}

struct Reference {
  std::vector<double> losses;
  ir::Bindings before, after_one; // params before the first step and after it
};

inline Reference reference_training(const frontend::Model& m, int64_t n, int steps, const std::vector<float>& x,
                             const std::vector<float>& t) {
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, n).graph, m.training);
  passes::TrainState state = passes::init_train_state(tg, kSeed);
  Reference r;
  r.before = state.values;
  int64_t in = input_size(tg.graph), ts = 0;
  for (ir::ValueId v : tg.targets) ts += per_sample(tg.graph.type(v));
  for (int s = 0; s < steps; s++) {
    std::vector<float> xs(x.begin() + s * n * in, x.begin() + (s + 1) * n * in);
    ir::Bindings batch = input_bindings(tg.graph, xs, n);
    auto at = t.begin() + s * n * ts;
    for (ir::ValueId v : tg.targets) {
      const ir::TensorType& tt = tg.graph.type(v);
      batch[tg.graph.value(v).name] = ir::Tensor(tt, std::vector<float>(at, at + n * per_sample(tt)));
      at += n * per_sample(tt);
    }
    r.losses.push_back(passes::train_step(tg, m.training.optimizer, state, batch));
    if (s == 0) r.after_one = state.values;
  }
  return r;
}

inline void check_training(const frontend::Model& m, const Build& b, int64_t n, int steps) {
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, n).graph, m.training);
  std::vector<float> x = random_floats(steps * n * input_size(tg.graph), 4);
  std::vector<float> t = targets(tg, steps * n, n);
  write_floats(b.dir / "x.bin", x);
  write_floats(b.dir / "t.bin", t);
  run(b, fmt::format("train {} {} {} x.bin t.bin losses.bin params.bin", kSeed, n, steps));
  Reference r = reference_training(m, n, steps, x, t);

  // One step's change of every parameter.
  std::vector<float> params = read_floats(b.dir / "params.bin");
  std::istringstream names(read_text(b.dir / "params.bin.names"));
  size_t at = 0;
  std::string name;
  int64_t size;
  while (names >> name >> size) {
    INFO(m.name, ": change of ", name, " after one step");
    REQUIRE(r.after_one.count(name));
    const ir::Tensor &p0 = r.before.at(name), &p1 = r.after_one.at(name);
    REQUIRE(p1.numel() == size);
    std::vector<float> got;
    std::vector<double> want;
    for (int64_t i = 0; i < size; i++) {
      got.push_back(float(double(params[at + size_t(i)]) - p0[i]));
      want.push_back(p1[i] - p0[i]);
    }
    CHECK(relative_error(got, want) <= 1e-4);
    at += size_t(size);
  }
  CHECK(at == params.size());

  // The loss curve.
  std::vector<float> losses = read_floats(b.dir / "losses.bin");
  REQUIRE(losses.size() == size_t(steps));
  INFO(m.name, ": first loss ", losses[0], " vs ", r.losses[0]);
  CHECK(std::fabs(losses[0] - r.losses[0]) <= 1e-5 * std::fabs(r.losses[0]));
  for (int s = 1; s < steps; s++) {
    INFO(m.name, ": loss of step ", s + 1, ": ", losses[size_t(s)], " vs ", r.losses[size_t(s)]);
    CHECK(std::fabs(losses[size_t(s)] - r.losses[size_t(s)]) <= 1e-3 * std::max(1.0, std::fabs(r.losses[size_t(s)])));
  }
}

} // namespace dlc::test_cpp
