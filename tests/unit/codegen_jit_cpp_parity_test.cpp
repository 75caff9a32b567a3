// The LLVM JIT against emitted C++ (codegen/cpp), bit for bit: the same seed gives the
// same initial parameters, the same outputs, the same losses step after step and the
// same parameters after a step, on one thread. Both backends run the same lowering,
// call the same runtime kernels and compute every element-wise op in the same order
// (runtime/kernels/scalar.h, codegen/llvm/scalar_ops.cpp); the JIT runs without FMA
// contraction here, as g++ compiles ISO C++ (-std=c++17 turns contraction off).
#include "codegen/jit_backend.h"
#include "pipeline/pipeline.h"
#include "codegen_cpp_helpers.h"

namespace dlc::test_cpp {

namespace {

constexpr uint64_t kSeed = 5;

const char* kDropoutModel = R"({
  "name": "dropout",
  "input_shape": [12],
  "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
             {"type": "dropout", "rate": 0.25},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

// Keras's other training-time noises and random_contrast, each with its own stream.
const char* kNoiseModel = R"({
  "name": "noise",
  "input_shape": [4, 4, 2],
  "layers": [{"type": "conv2d", "filters": 3, "kernel_size": 2, "activation": "tanh"},
             {"type": "random_contrast", "factor": 0.4},
             {"type": "spatial_dropout2d", "rate": 0.3},
             {"type": "gaussian_noise", "stddev": 0.1},
             {"type": "flatten"},
             {"type": "dense", "units": 6, "activation": "relu"},
             {"type": "gaussian_dropout", "rate": 0.2},
             {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

std::unique_ptr<codegen::JitModel> exact_jit(const frontend::Model& m, int64_t batch) {
  codegen::JitOptions o;
  o.contract = false;
  return std::make_unique<codegen::JitModel>(pipeline::jit_source(m, batch), o);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Floats per sample of tensors laid out one after another, as net_infer reads its inputs
// and writes its outputs.
int64_t block_size(const std::vector<codegen::TensorSpec>& specs) {
  int64_t s = 0;
  for (auto& t : specs) s += per_sample(t.type);
  return s;
}

// Where each tensor of n samples starts in such a block.
std::vector<float*> tensors_in(float* block, const std::vector<codegen::TensorSpec>& specs, int64_t n) {
  std::vector<float*> p;
  for (auto& t : specs) {
    p.push_back(block);
    block += n * per_sample(t.type);
  }
  return p;
}
std::vector<const void*> inputs_in(const float* block, const codegen::JitModel& jm, int64_t n) {
  auto p = tensors_in(const_cast<float*>(block), jm.inputs(), n);
  return std::vector<const void*>(p.begin(), p.end());
}
std::vector<void*> outputs_in(float* block, const codegen::JitModel& jm, int64_t n) {
  auto p = tensors_in(block, jm.outputs(), n);
  return std::vector<void*>(p.begin(), p.end());
}

// Each loss's targets of n samples from `block` (laid out as net_train_step takes them):
// class ids converted to i32 (kept in `ids`), the rest the floats they are.
std::vector<const void*> target_ptrs(const codegen::JitModel& jm, const float* block, int64_t n,
                                     std::vector<std::vector<int32_t>>& ids) {
  ids.clear();
  ids.reserve(jm.targets().size()); // the pointers point into them
  std::vector<const void*> t;
  for (const codegen::TensorSpec& spec : jm.targets()) {
    int64_t count = n * per_sample(spec.type);
    if (spec.type.dtype == ir::DType::i32) {
      ids.emplace_back(block, block + count);
      t.push_back(ids.back().data());
    } else {
      t.push_back(block);
    }
    block += count;
  }
  return t;
}

void check_bits(const frontend::Model& m, int64_t n, int steps) {
  CAPTURE(m.name);
  codegen::CppOptions o;
  o.train = true;
  o.batch = n;
  Build b = build(m, o, "g++", "-O2", "jit_parity_" + m.name);
  auto jm = exact_jit(m, n);
  jm->init(kSeed);
  int64_t in = block_size(jm->inputs()), out = block_size(jm->outputs());

  std::vector<float> x = random_floats(n * in, 1), y(size_t(n * out));
  write_floats(b.dir / "x.bin", x);
  auto at = [&](const char* f) { return "'" + (b.dir / f).string() + "'"; };
  run(b, fmt::format("infer {} {} {} {}", kSeed, n, at("x.bin"), at("y.bin")));
  jm->infer(inputs_in(x.data(), *jm, n), outputs_in(y.data(), *jm, n), n);
  CHECK(same_bits(y, read_floats(b.dir / "y.bin")));

  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, n).graph, m.training);
  std::vector<float> xs = random_floats(steps * n * in, 4), ts = targets(tg, steps * n, n);
  write_floats(b.dir / "x.bin", xs);
  write_floats(b.dir / "t.bin", ts);
  run(b, fmt::format("train {} {} {} {} {} {} {}", kSeed, n, steps, at("x.bin"), at("t.bin"), at("losses.bin"),
                     at("params.bin")));
  std::vector<float> want_losses = read_floats(b.dir / "losses.bin"), want_params = read_floats(b.dir / "params.bin");
  int64_t t_per = block_size(jm->targets());
  std::vector<float> params;
  for (int s = 0; s < steps; s++) {
    std::vector<std::vector<int32_t>> ids;
    std::vector<const void*> t = target_ptrs(*jm, ts.data() + s * n * t_per, n, ids);
    float loss = float(jm->train_step(inputs_in(xs.data() + s * n * in, *jm, n), t, n,
                                      float(m.training.optimizer.get("lr")), s));
    INFO("step ", s, ": ", loss, " vs ", want_losses[size_t(s)]);
    CHECK(std::memcmp(&loss, &want_losses[size_t(s)], sizeof loss) == 0);
    if (s > 0) continue;
    std::istringstream names(read_text(b.dir / "params.bin.names"));
    std::string name;
    int64_t size;
    while (names >> name >> size) {
      std::vector<float> p = jm->get(name);
      params.insert(params.end(), p.begin(), p.end());
    }
  }
  CHECK(same_bits(params, want_params));
  // Inference after training: both see the trained parameters (and re-prepare weights
  // folded from them).
  run(b, fmt::format("train_infer {} {} {} {} {} {}", kSeed, n, steps, at("x.bin"), at("t.bin"), at("y.bin")));
  jm->infer(inputs_in(xs.data(), *jm, n), outputs_in(y.data(), *jm, n), n);
  CHECK(same_bits(y, read_floats(b.dir / "y.bin")));
  fs::remove_all(b.dir);
}

} // namespace

namespace {

// --input-grad: after one training step, the loss and the gradient with respect to the
// inputs from net_input_grad and from JitModel::input_gradients, bit for bit.
void check_input_grad_bits(const frontend::Model& m, int64_t n) {
  CAPTURE(m.name);
  codegen::CppOptions o;
  o.train = true;
  o.input_grad = true;
  o.batch = n;
  Build b = build(m, o, "g++", "-O2", "jit_grad_" + m.name);
  auto jm = exact_jit(m, n);
  jm->init(kSeed);
  int64_t in = block_size(jm->inputs());
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, n).graph, m.training);
  std::vector<float> x = random_floats(n * in, 5), t = targets(tg, n, n);
  write_floats(b.dir / "x.bin", x);
  write_floats(b.dir / "t.bin", t);
  auto at = [&](const char* f) { return "'" + (b.dir / f).string() + "'"; };
  run(b, fmt::format("input_grad {} {} {} {} {}", kSeed, n, at("x.bin"), at("t.bin"), at("g.bin")));
  std::vector<float> want = read_floats(b.dir / "g.bin");
  // The same in the JIT: one training step, then the input gradient.
  std::vector<std::vector<int32_t>> ids;
  std::vector<const void*> tp = target_ptrs(*jm, t.data(), n, ids);
  jm->train_step(inputs_in(x.data(), *jm, n), tp, n, float(m.training.optimizer.get("lr")), 0);
  std::vector<float> got(size_t(1 + n * in));
  std::vector<void*> grads; // laid out as the inputs
  for (float* p : tensors_in(got.data() + 1, jm->inputs(), n)) grads.push_back(p);
  got[0] = float(jm->input_gradients(inputs_in(x.data(), *jm, n), tp, n, grads));
  INFO("loss ", got[0], " vs ", want.at(0));
  CHECK(same_bits(got, want));
  fs::remove_all(b.dir);
}

// A frozen convolution (its weights in three programs' constants) under a trained head.
const char* kFrozenConvModel = R"({
  "name": "frozen_conv",
  "input_shape": [6, 6, 2],
  "layers": [{"type": "conv2d", "filters": 3, "kernel_size": 3, "activation": "relu", "trainable": false},
             {"type": "max_pool2d", "pool_size": 2}, {"type": "flatten"},
             {"type": "dense", "units": 4, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "batch_size": 4
})";

} // namespace

TEST_CASE("the JIT and emitted C++ agree bit for bit: input gradients (--input-grad)") {
  check_input_grad_bits(frontend::load_model_text(kMultiOutputModel, "multi_output.json"), 4);
  check_input_grad_bits(frontend::load_model_text(kFrozenConvModel, "frozen_conv.json"), 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit for the same seed") {
  check_bits(frontend::load_model_text(kDropoutModel, "dropout.json"), 4, 5);
  check_bits(frontend::load_model_text(kNoiseModel, "noise.json"), 4, 5);
  check_bits(frontend::load_model(example("cnn")), 3, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: two inputs, three losses with weights") {
  check_bits(frontend::load_model_text(kMultiOutputModel, "multi_output.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: layer_normalization and global pooling") {
  check_bits(frontend::load_model_text(kGlobalPoolingModel, "global_pooling.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: batch_normalization") {
  check_bits(frontend::load_model_text(kBatchNormModel, "batch_norm.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: conv1d and 1-D pooling") {
  check_bits(frontend::load_model_text(kConv1dModel, "conv1d.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: upsampling2d") {
  check_bits(frontend::load_model_text(kUpsamplingModel, "upsampling.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: depthwise_conv2d") {
  check_bits(frontend::load_model_text(kDepthwiseModel, "depthwise.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: augmentation layers") {
  check_bits(frontend::load_model_text(kAugmentModel, "augment.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: bidirectional, return_state, go_backwards, repeat_vector") {
  check_bits(frontend::load_model_text(kKerasRecurrentModel, "keras_recurrent.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: masking") {
  check_bits(frontend::load_model_text(kMaskedModel, "masked.json"), 4, 3);
}

TEST_CASE("the JIT and emitted C++ agree bit for bit: every activation and maxout") {
  check_bits(frontend::load_model_text(kActivationsModel, "activations.json"), 4, 3);
}

} // namespace dlc::test_cpp
