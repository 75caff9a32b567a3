// The optimised program (clean-up, fused kernels, schedule, planned buffers) run by the
// program evaluator computes what the interpreter computes on the unoptimised graph:
// outputs, losses, and (training) every updated parameter and optimizer state, to 1e-6
// relative.
#include "passes_test_helpers.h"

using namespace dlc;
using namespace dlc::passes;

namespace {

// Every other layer type and activation, dropout in training mode, a sparse loss, and an
// optimizer whose updates wait for the global gradient norm.
const char* kManyLayers = R"({"name": "many", "input_shape": [6, 6, 2],
  "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "prelu"},
    {"type": "avg_pool2d", "pool_size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 8, "activation": {"type": "maxout", "k": 2}},
    {"type": "dropout", "rate": 0.3},
    {"type": "dense", "units": 5, "activation": {"type": "leaky_relu", "alpha": 0.1}},
    {"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"type": "rmsprop", "lr": 0.01, "clip_norm": 1.0},
  "batch_size": 4})";

// Binary cross-entropy from logits, Nesterov momentum with weight decay and value clipping.
const char* kBinary = R"({"name": "binary", "input_shape": [5],
  "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
             {"type": "dense", "units": 1, "activation": "sigmoid"}],
  "loss": "binary_crossentropy",
  "optimizer": {"type": "nesterov", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "clip_value": 0.5},
  "batch_size": 4})";

} // namespace

TEST_CASE("equivalence: compiled examples compute the interpreter's outputs, losses and updates") {
  for (const char* name : {"mlp", "mlp_relu_adam", "cnn", "xo", "residual", "two_inputs_two_outputs",
                           "rnn_small", "lstm_small", "gru_small"})
    for (bool train : {false, true}) {
      INFO(name << (train ? " training" : " inference"));
      ir::Graph g = testing::example_graph(name, 2, train);
      testing::check_equivalent(g, compile(g), 11, train);
    }
}

TEST_CASE("equivalence: every layer type, dropout, clipping, sparse and binary losses") {
  for (const char* json : {kManyLayers, kBinary}) {
    frontend::Model m = frontend::load_model_text(json, "model.json");
    ir::Graph g = build_training_graph(frontend::build_model(m, 4).graph, m.training).graph;
    INFO(m.name);
    Program p = compile(g);
    for (uint64_t seed : {1, 2}) testing::check_equivalent(g, p, seed, true);
  }
}

TEST_CASE("fusion: the loss and its gradient share a kernel for every loss") {
  frontend::Model m = frontend::load_model_text(kBinary, "model.json");
  Program p = compile(build_training_graph(frontend::build_model(m, 4).graph, m.training).graph);
  int loss_kernels = 0;
  for (const Kernel& k : p.kernels)
    if (k.kind == KernelKind::loss) {
      loss_kernels++;
      CHECK(k.anchors.size() == 2); // sigmoid_binary_cross_entropy and its gradient
    }
  CHECK(loss_kernels == 1);
}
