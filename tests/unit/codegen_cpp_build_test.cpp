// Emitted C++ across compilers, optimisation levels and sanitizers, inference-only
// builds, the ops and optimizers the examples do not use, and vgg16 (compiled only).
// Every build uses -Wall -Wextra -Werror (codegen_cpp_helpers.h).
#include "codegen_cpp_helpers.h"

namespace dlc::test_cpp {

namespace {

frontend::Model model_text(const std::string& json, const std::string& name) {
  return frontend::load_model_text(json, name + ".json");
}

codegen::CppOptions options(bool train, int64_t batch) {
  codegen::CppOptions o;
  o.train = train;
  o.batch = batch;
  return o;
}

// Inference, training at the compiled batch and one partial step, on one build.
void check_all(frontend::Model m, int64_t n, int steps, const std::string& compiler, const std::string& flags,
               const std::string& tag) {
  well_conditioned(m);
  Build b = build(m, options(true, n), compiler, flags, tag);
  check_inference(m, b, n);
  check_inference(m, b, n - 1);
  check_training(m, b, n, steps);
  check_training(m, b, n - 1, 2);
  fs::remove_all(b.dir);
}

// Dropout, tanh, leaky_relu, prelu (slope gradient), sparse cross-entropy, Nadam with
// clipping by norm and value and decoupled weight decay.
const char* kDenseOps = R"({"name": "dense_ops", "input_shape": [12],
 "layers": [
   {"type": "dense", "units": 16, "activation": "tanh"},
   {"type": "dropout", "rate": 0.25},
   {"type": "dense", "units": 16, "activation": {"type": "leaky_relu", "alpha": 0.2}},
   {"type": "dense", "units": 8, "activation": "prelu"},
   {"type": "dense", "units": 5, "activation": "softmax"}],
 "loss": "sparse_categorical_crossentropy",
 "optimizer": {"type": "nadam", "lr": 0.01, "weight_decay": 0.01, "weight_decay_mode": "decoupled",
               "clip_norm": 1.0, "clip_value": 0.5},
 "batch_size": 8})";

// Strided, padded convolution, softplus, average pooling with padding, mse, Nesterov
// momentum with coupled weight decay.
const char* kConvOps = R"({"name": "conv_ops", "input_shape": [6, 6, 2],
 "layers": [
   {"type": "conv2d", "filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "softplus"},
   {"type": "avg_pool2d", "pool_size": 2, "padding": "same"},
   {"type": "flatten"},
   {"type": "dense", "units": 4, "activation": "sigmoid"}],
 "loss": "mse",
 "optimizer": {"type": "nesterov", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.001},
 "batch_size": 5})";

std::string tiny_model(const std::string& optimizer, const std::string& loss, int64_t classes) {
  return R"({"name": "tiny", "input_shape": [6], "layers": [
     {"type": "dense", "units": 5, "activation": "relu"},
     {"type": "dense", "units": )" +
         std::to_string(classes) + R"(, "activation": ")" + (classes == 1 ? "sigmoid" : "softmax") + R"("}],
   "loss": ")" + loss + R"(", "optimizer": )" + optimizer + R"(, "batch_size": 4})";
}

} // namespace

TEST_CASE("emitted C++: inference-only builds of every example under clang -O0") {
  for (const char* name : {"xo", "mlp", "mlp_relu_adam", "cnn", "residual", "two_inputs_two_outputs"}) {
    frontend::Model m = frontend::load_model(example(name));
    Build b = build(m, options(false, 3), "clang++-19", "-O0", std::string("infer_") + name);
    check_inference(m, b, 3);
    check_inference(m, b, 1);
    fs::remove_all(b.dir);
  }
}

TEST_CASE("emitted C++: clang -O3 training of the convolutional example") {
  check_all(frontend::load_model(example("cnn")), 3, 10, "clang++-19", "-O3", "cnn_clang");
}

// DLC_RT_NO_DISPATCH: what a target without AVX-512 gets (simd.h), here on purpose: the
// portable GEMM and convolution loops only. The runtime once compiled only with AVX-512
// available, because conv2d.h called row kernels that exist only there.
TEST_CASE("emitted C++ without AVX-512 code: the portable kernels train the convolutional example") {
  check_all(frontend::load_model(example("cnn")), 3, 3, "g++", "-O1 -DDLC_RT_NO_DISPATCH", "cnn_portable");
}

TEST_CASE("emitted C++: dropout, prelu, sparse cross-entropy, Nadam with clipping") {
  check_all(model_text(kDenseOps, "dense_ops"), 8, 20, "clang++-19", "-O0", "dense_ops");
}

TEST_CASE("emitted C++: strided padded convolution, softplus, average pooling, mse, Nesterov") {
  check_all(model_text(kConvOps, "conv_ops"), 5, 20, "clang++-19", "-O0", "conv_ops");
}

TEST_CASE("emitted C++: momentum, Adagrad, RMSProp, Adadelta, binary cross-entropy") {
  struct Case {
    const char* optimizer;
    const char* loss;
    int64_t classes;
  };
  for (Case c : {Case{R"({"type": "momentum", "lr": 0.1})", "categorical_crossentropy", 3},
                 Case{R"({"type": "adagrad", "lr": 0.1})", "categorical_crossentropy", 3},
                 Case{R"({"type": "rmsprop", "lr": 0.01})", "mse", 3},
                 Case{R"({"type": "adadelta", "lr": 1.0})", "binary_crossentropy", 1}}) {
    INFO(c.optimizer, " ", c.loss);
    check_all(model_text(tiny_model(c.optimizer, c.loss, c.classes), "tiny"), 4, 10, "clang++-19", "-O0", "tiny");
  }
}

TEST_CASE("emitted C++ runs clean under AddressSanitizer and UndefinedBehaviorSanitizer") {
  check_all(frontend::load_model(example("residual")), 3, 3, "g++",
            "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer", "asan");
}

TEST_CASE("emitted C++ for vgg16 compiles (inference and training)") {
  frontend::Model m = frontend::load_model(example("vgg16"));
  fs::path dir = work_dir("vgg16");
  for (bool train : {false, true}) {
    codegen::CppFiles f = pipeline::emit_cpp(m, nullptr, options(train, 2));
    write_text(dir / "net.cpp", f.source);
    write_text(dir / "net.h", f.header);
    write_text(dir / codegen::kRuntimeHeaderFile, f.runtime);
    std::string log;
    int rc = shell("clang++-19 -std=c++17 -Wall -Wextra -Werror -fsyntax-only '" + (dir / "net.cpp").string() + "'",
                   log, dir);
    INFO(log.substr(0, 4000));
    CHECK(rc == 0);
    CHECK(f.header.find("#define NET_BATCH 2\n") != std::string::npos);
  }
  fs::remove_all(dir);
}

} // namespace dlc::test_cpp
