// Emitted C++ against the reference interpreter, for every example model (vgg16 is only
// compiled, in codegen_cpp_build_test.cpp): inference to 1e-5 relative, at the compiled
// batch and at a partial one; one training step's parameter changes to 1e-4; 50 steps'
// losses. Batches are small so that the interpreter stays fast.
#include "codegen_cpp_helpers.h"

namespace dlc::test_cpp {

namespace {

// Builds the model's inference + training code at batch n and checks all of it.
void check_model(frontend::Model m, int64_t n, int steps, const std::string& compiler = "g++",
                 const std::string& flags = "-O2") {
  const std::string name = m.name;
  well_conditioned(m);
  codegen::CppOptions o;
  o.train = true;
  o.batch = n;
  Build b = build(m, o, compiler, flags, name);
  check_inference(m, b, n);
  check_inference(m, b, n - 1 > 0 ? n - 1 : 1);
  check_training(m, b, n, steps);
  check_training(m, b, n - 1 > 0 ? n - 1 : 1, 2); // a partial batch: the mean over its samples
  fs::remove_all(b.dir);
}

void check_example(const std::string& name, int64_t n, int steps, const std::string& compiler = "g++",
                   const std::string& flags = "-O2") {
  check_model(frontend::load_model(example(name)), n, steps, compiler, flags);
}

} // namespace

TEST_CASE("emitted C++ matches the interpreter: every activation and maxout, trained") {
  check_model(frontend::load_model_text(kActivationsModel, "activations.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: layer_normalization and global pooling, trained") {
  check_model(frontend::load_model_text(kGlobalPoolingModel, "global_pooling.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: batch_normalization, trained") {
  check_model(frontend::load_model_text(kBatchNormModel, "batch_norm.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: conv1d and 1-D pooling, trained") {
  check_model(frontend::load_model_text(kConv1dModel, "conv1d.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: upsampling2d, trained") {
  check_model(frontend::load_model_text(kUpsamplingModel, "upsampling.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: depthwise_conv2d, trained") {
  check_model(frontend::load_model_text(kDepthwiseModel, "depthwise.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: augmentation layers, trained") {
  check_model(frontend::load_model_text(kAugmentModel, "augment.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: bidirectional, return_state, go_backwards, repeat_vector, trained") {
  check_model(frontend::load_model_text(kKerasRecurrentModel, "keras_recurrent.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: two inputs, three losses with weights, trained") {
  check_model(frontend::load_model_text(kMultiOutputModel, "multi_output.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: masking through bidirectional and go_backwards layers, trained") {
  check_model(frontend::load_model_text(kMaskedModel, "masked.json"), 4, 20);
}
TEST_CASE("emitted C++ matches the interpreter: xo") { check_example("xo", 8, 50); }
TEST_CASE("emitted C++ matches the interpreter: mlp") { check_example("mlp", 4, 50); }
TEST_CASE("emitted C++ matches the interpreter: mlp_relu_adam") { check_example("mlp_relu_adam", 4, 50); }
TEST_CASE("emitted C++ matches the interpreter: cnn") { check_example("cnn", 4, 50); }
TEST_CASE("emitted C++ matches the interpreter: residual") { check_example("residual", 4, 50); }
TEST_CASE("emitted C++ matches the interpreter: two_inputs_two_outputs") {
  check_example("two_inputs_two_outputs", 4, 50);
}
TEST_CASE("emitted C++ matches the interpreter: rnn_small") { check_example("rnn_small", 4, 50); }
TEST_CASE("emitted C++ matches the interpreter: lstm_small") { check_example("lstm_small", 4, 50); }
TEST_CASE("emitted C++ matches the interpreter: gru_small") { check_example("gru_small", 4, 50); }

} // namespace dlc::test_cpp
