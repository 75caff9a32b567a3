// Keras's own model JSON (model.to_json(), Keras 2.x): Sequential and Functional files
// written by hand in Keras 2.13's format (tests/fixtures/keras/; Keras is not packaged
// here), read by frontend::load_model, give the same graph as the dlc model written for
// them -- names, defaults (LeakyReLU's alpha 0.3, batch normalisation's epsilon),
// initializers, regularizers, return_state outputs, frozen layers -- and every layer dlc
// would compute differently is one error naming each of them.
#include "error_of.h"
#include "frontend/files.h"
#include "frontend/model.h"
#include "frontend/weights.h"
#include "ir/interp/interpreter.h"
#include "ir/printer.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace dlc;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) { return std::string(DLC_SOURCE_DIR) + "/tests/fixtures/keras/" + name; }

std::string graph_of(const frontend::Model& m) { return ir::print_graph(frontend::build_model(m, 2).graph); }

// A Keras file with these layers (Sequential, input [4, 4, 2]).
std::string keras_sequential(const std::string& layers) {
  return R"({"class_name": "Sequential", "config": {"name": "k", "layers": [{"class_name": "InputLayer", "config":
      {"batch_input_shape": [null, 4, 4, 2], "name": "in"}}, )" + layers + R"(]}, "keras_version": "2.13.1"})";
}

std::string load_error(const std::string& text) {
  fs::path p = fs::temp_directory_path() / ("dlc-keras-" + std::to_string(::getpid()) + ".json");
  frontend::write_file_atomic(p.string(), text);
  std::string e = error_of([&] { frontend::load_model(p.string()); });
  fs::remove(p);
  return e;
}

} // namespace

TEST_CASE("Keras Sequential JSON: the graph of the dlc model written for it") {
  frontend::Model k = frontend::load_model(fixture("cnn_sequential.json"));
  frontend::Model d = frontend::load_model_text(R"({"name": "keras_cnn", "input_shape": [28, 28, 1], "layers": [
      {"type": "conv2d", "name": "conv2d", "filters": 8, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
       "activation": "relu", "use_bias": true, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"},
      {"type": "batch_normalization", "name": "batch_normalization", "momentum": 0.99, "epsilon": 0.001},
      {"type": "max_pool2d", "name": "max_pooling2d", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"},
      {"type": "flatten", "name": "flatten"},
      {"type": "dense", "name": "dense", "units": 32, "kernel_initializer": "he_normal",
       "kernel_regularizer": {"type": "l1_l2", "l1": 0, "l2": 0.0010000000474974513}},
      {"type": "activation", "name": "leaky_re_lu", "activation": {"type": "leaky_relu", "alpha": 0.3}},
      {"type": "dropout", "name": "dropout", "rate": 0.25},
      {"type": "dense", "name": "dense_1", "units": 10, "activation": "softmax"}]})", "d.json");
  CHECK(k.name == "keras_cnn");
  CHECK(graph_of(k) == graph_of(d));
  CHECK(graph_of(k).find("leaky_relu") != std::string::npos);
}

TEST_CASE("Keras Functional JSON: two inputs, an encoder's states into a decoder, a frozen layer") {
  frontend::Model k = frontend::load_model(fixture("seq2seq_functional.json"));
  frontend::Model d = frontend::load_model_text(R"({"name": "keras_seq2seq",
      "inputs": [{"name": "src", "shape": [5, 3]}, {"name": "tgt", "shape": [4, 3]}],
      "layers": [
        {"type": "lstm", "name": "enc", "inputs": "src", "units": 6, "return_state": true, "activation": "tanh",
         "recurrent_activation": "sigmoid", "kernel_initializer": "glorot_uniform",
         "recurrent_initializer": {"type": "orthogonal", "gain": 1.0}, "bias_initializer": "zeros", "unit_forget_bias": true},
        {"type": "lstm", "name": "dec", "inputs": ["tgt", "enc.h", "enc.c"], "units": 6, "activation": "tanh",
         "recurrent_activation": "sigmoid", "kernel_initializer": "glorot_uniform",
         "recurrent_initializer": {"type": "orthogonal", "gain": 1.0}, "bias_initializer": "zeros", "unit_forget_bias": true},
        {"type": "concat", "name": "both", "inputs": ["dec", "enc"]},
        {"type": "dense", "name": "out", "inputs": "both", "units": 3, "activation": "softmax", "trainable": false}],
      "outputs": "out"})", "d.json");
  REQUIRE(k.inputs.size() == 2);
  CHECK(k.inputs[1].name == "tgt");
  CHECK(graph_of(k) == graph_of(d));
}

TEST_CASE("Keras JSON: every layer dlc would compute differently in one error; a bad axis after building") {
  std::string e = load_error(keras_sequential(R"(
      {"class_name": "Conv2D", "config": {"name": "dilated", "filters": 2, "kernel_size": [3, 3], "padding": "same",
       "dilation_rate": [2, 2], "activation": "relu"}},
      {"class_name": "Lambda", "config": {"name": "lam"}},
      {"class_name": "Conv2D", "config": {"name": "nchw", "filters": 2, "kernel_size": [1, 1],
       "data_format": "channels_first"}},
      {"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_constraint": {"class_name": "MaxNorm"},
       "kernel_initializer": {"class_name": "VarianceScaling", "config": {}}}})"));
  CHECK(e.find("Keras model: 5 layer problems") != std::string::npos);
  CHECK(e.find("layer 'dilated': dilation_rate other than 1") != std::string::npos);
  CHECK(e.find("layer 'lam': layer class 'Lambda' has no dlc counterpart here") != std::string::npos);
  CHECK(e.find("layer 'nchw': data_format 'channels_first'") != std::string::npos);
  CHECK(e.find("layer 'd': kernel_initializer: initializer 'VarianceScaling' is not read") != std::string::npos);
  CHECK(e.find("layer 'd': kernel_constraint is not read") != std::string::npos);
  // Batch normalisation over axis 1 of an NHWC image: found once the model is built.
  CHECK(load_error(keras_sequential(R"({"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [1]}})"))
            .find("layer 'bn' normalises axis 1; dlc normalises the last axis (3") != std::string::npos);
  // Not a Sequential or Functional model, no input shape, a member of the wrong type.
  CHECK(load_error(R"({"class_name": "Subclassed", "config": {"layers": [{}]}})").find("Keras model class 'Subclassed'") !=
        std::string::npos);
  CHECK(load_error(R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d",
      "units": 2}}]}})").find("no batch_input_shape") != std::string::npos);
  CHECK(load_error(keras_sequential(R"({"class_name": "Dense", "config": {"name": 7, "units": 2}})"))
            .find("Keras model: unexpected JSON") != std::string::npos);
}

TEST_CASE("Keras JSON: each refused setting is named, layer by layer, in the one error") {
  std::string e = load_error(keras_sequential(R"(
      {"class_name": "Dense", "config": {"name": "init_mean", "units": 2,
       "kernel_initializer": {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.1}}}},
      {"class_name": "Dense", "config": {"name": "init_uniform", "units": 2,
       "kernel_initializer": {"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 1.0}}}},
      {"class_name": "Dense", "config": {"name": "reg", "units": 2, "kernel_regularizer": {"class_name": "OrthogonalRegularizer"},
       "activity_regularizer": {"class_name": "L2"}}},
      {"class_name": "Dense", "config": {"name": "act", "units": 2, "activation": {"class_name": "relu"}}},
      {"class_name": "Conv2D", "config": {"name": "grouped", "filters": 2, "kernel_size": [1, 1], "groups": 2}},
      {"class_name": "Dropout", "config": {"name": "noise", "rate": 0.5, "noise_shape": [null, 1]}},
      {"class_name": "BatchNormalization", "config": {"name": "bnreg", "gamma_regularizer": {"class_name": "L2"}}},
      {"class_name": "BatchNormalization", "config": {"name": "bnaxis", "axis": [1, 2]}},
      {"class_name": "LSTM", "config": {"name": "rnn", "units": 2, "dropout": 0.2, "unroll": true, "time_major": true}},
      {"class_name": "Concatenate", "config": {"name": "cat", "axis": 1}})"));
  for (const char* want : {"layer 'init_mean': kernel_initializer: a RandomNormal with a mean other than 0",
                           "layer 'init_uniform': kernel_initializer: RandomUniform(0, 1) is not symmetric around 0",
                           "layer 'reg': kernel_regularizer: regularizer 'OrthogonalRegularizer' is not read",
                           "layer 'reg': activity_regularizer is not read",
                           "layer 'act': 'activation' is not an activation name",
                           "layer 'grouped': groups other than 1", "layer 'noise': noise_shape is not read",
                           "layer 'bnreg': gamma_regularizer is not read",
                           "layer 'bnaxis': axis [1,2] (dlc normalises the last axis)",
                           "layer 'rnn': dropout inside the recurrent layer is not read", "layer 'rnn': unroll is not read",
                           "layer 'rnn': time_major", "layer 'cat': Concatenate on an axis other than the last"}) {
    CAPTURE(want);
    CHECK(e.find(want) != std::string::npos);
  }
  // Functional: a shared layer, an unknown input size, inputs in Keras 3's form, no layers.
  std::string f = load_error(R"({"class_name": "Functional", "config": {"name": "f", "layers": [
      {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, null, 3]}, "inbound_nodes": []},
      {"class_name": "Dense", "name": "shared", "config": {"name": "shared", "units": 2},
       "inbound_nodes": [[["in", 0, 0, {}]], [["in", 0, 0, {}]]]},
      {"class_name": "Dense", "name": "k3", "config": {"name": "k3", "units": 2},
       "inbound_nodes": [{"args": [], "kwargs": {}}]}],
      "input_layers": [["in", 0, 0]], "output_layers": [["k3", 0, 0]]}})");
  CHECK(f.find("layer 'in': an input dimension other than a fixed size (None)") != std::string::npos);
  CHECK(f.find("layer 'shared': a layer called more than once (shared weights) is not read") != std::string::npos);
  CHECK(f.find("layer 'k3': inbound_nodes in a form other than Keras 2's nested lists") != std::string::npos);
  CHECK(load_error(R"({"class_name": "Sequential", "config": {"layers": []}})").find("has no layers") != std::string::npos);
  CHECK(load_error(R"({"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer", "name": "in",
      "config": {"batch_input_shape": 3}}]}})").find("batch_input_shape is not a list") != std::string::npos);
}

TEST_CASE("keras: HDF5 weights (model.save_weights, Keras 2.x) load by layer and weight name") {
  // tests/fixtures/keras/make_keras_h5.py: element k of the t-th tensor of the file is
  // (k % 101) * 0.01 - 0.5 + t (moving_variance: its absolute value + 0.5).
  frontend::Model m = frontend::load_model(fixture("cnn_sequential.json"));
  ir::Graph g = frontend::build_model(m, 1).graph;
  frontend::WeightsReport r;
  ir::Bindings w = frontend::load_weights(fixture("cnn_sequential.h5"), g, false, &r);
  CHECK(r.loaded.size() == 10);
  auto expect = [](int64_t k, int t) { return float((k % 101) * 0.01 - 0.5 + t); };
  struct Case {
    const char* name;
    int t;
    int64_t k;
  };
  for (Case c : {Case{"conv2d.kernel", 0, 0}, Case{"conv2d.kernel", 0, 71}, Case{"conv2d.bias", 1, 7},
                 Case{"batch_normalization.gamma", 2, 3}, Case{"batch_normalization.moving_mean", 4, 5},
                 Case{"dense.kernel", 6, 1000}, Case{"dense.kernel", 6, 43263}, Case{"dense_1.bias", 9, 9}}) {
    CAPTURE(c.name);
    CHECK(float(w.at(c.name).data[size_t(c.k)]) == expect(c.k, c.t));
  }
  CHECK(float(w.at("batch_normalization.moving_variance").data[2]) == std::abs(expect(2, 5)) + 0.5f);
  CHECK(w.at("dense.kernel").shape().dims == std::vector<int64_t>{1352, 32});
  // Not Keras's weights, not HDF5 at all, a truncated file, weights of another model.
  CHECK(error_of([&] { frontend::load_weights(fixture("not_keras.h5"), g); }) ==
        fixture("not_keras.h5") + ": Keras HDF5 weights: no 'layer_names' attribute (not a file of model.save_weights?)");
  fs::path p = fs::temp_directory_path() / ("dlc-keras-" + std::to_string(::getpid()) + ".h5");
  frontend::write_file_atomic(p.string(), frontend::read_file(fixture("cnn_sequential.h5")).substr(0, 4000));
  CHECK(error_of([&] { frontend::load_weights(p.string(), g); }).find(": Keras HDF5 weights: ") != std::string::npos);
  frontend::write_file_atomic(p.string(), "{}");
  CHECK(error_of([&] { frontend::load_weights(p.string(), g); }) == p.string() + ": Keras HDF5 weights: not an HDF5 file");
  fs::remove(p);
  frontend::Model other = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/mlp.json");
  CHECK(error_of([&] { frontend::load_weights(fixture("cnn_sequential.h5"), frontend::build_model(other, 1).graph); })
            .find("tensor 'dense_1.kernel' has shape [32,10], the model's parameter is [784,500]") != std::string::npos);
}

TEST_CASE("keras: Keras 3's model JSON (inbound_nodes as args of __keras_tensor__, batch_shape, negative_slope)") {
  // Written by hand in the format Keras 3.3's model.to_json() writes.
  frontend::Model k = frontend::load_model(fixture("keras3_functional.json"));
  frontend::Model d = frontend::load_model_text(R"({"name": "functional", "inputs": [{"name": "input_layer", "shape": [8]}],
    "layers": [
      {"name": "dense", "type": "dense", "inputs": "input_layer", "units": 16, "activation": "relu"},
      {"name": "dense_1", "type": "dense", "inputs": "dense", "units": 16},
      {"name": "add", "type": "add", "inputs": ["dense", "dense_1"]},
      {"name": "leaky_re_lu", "type": "activation", "inputs": "add", "activation": {"type": "leaky_relu", "alpha": 0.2}},
      {"name": "dense_2", "type": "dense", "inputs": "leaky_re_lu", "units": 3, "activation": "softmax"}],
    "outputs": "dense_2"})", "dlc.json");
  CHECK(graph_of(k) == graph_of(d));
  // Keras 3's LeakyReLU default slope is 0.2 (Keras 2's alpha: 0.3).
  std::string k3 = R"({"class_name": "Sequential", "config": {"name": "k", "layers": [{"class_name": "InputLayer",
      "config": {"batch_shape": [null, 4], "name": "in"}}, {"class_name": "LeakyReLU", "config": {"name": "l"}}]},
      "keras_version": "3.3.3"})";
  CHECK(graph_of(frontend::load_model_text(k3, "k3.json")).find("alpha=0.2") != std::string::npos);
}

TEST_CASE("keras: a number beyond int64 where an integer belongs is one error (a fuzzer finding)") {
  std::string e = load_error(keras_sequential(R"({"class_name": "Conv2D", "config": {"name": "c", "filters": 2,
      "kernel_size": 3, "dilation_rate": 1.7e44}})"));
  CHECK(e.find("Keras model: the number 1.7e+44 is out of range") != std::string::npos);
}

TEST_CASE("keras: a GRU's HDF5 weights (Keras 2's default reset_after=True) compute what PyTorch's nn.GRU does") {
  // gru.h5 and gru_expected.json (make_keras_h5.py): a Keras GRU 'g', units 2 over 3
  // features, bias [2, 6]; the output for one 4-step sequence from PyTorch's nn.GRU given
  // the same weights. The Keras JSON leaves reset_after at Keras's default.
  frontend::Model m = frontend::load_model_text(
      R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "GRU", "config": {"name": "g",
          "units": 2, "return_sequences": true, "batch_input_shape": [null, 4, 3]}}]}})",
      "gru.json");
  ir::Graph g = frontend::build_model(m, 1).graph;
  ir::Bindings b = frontend::load_weights(fixture("gru.h5"), g);
  CHECK(b.at("g.bias").type.shape == ir::Shape{2, 6});
  auto want = nlohmann::json::parse(frontend::read_file(fixture("gru_expected.json")));
  std::vector<double> x = want.at("x").get<std::vector<double>>(), y = want.at("y").get<std::vector<double>>();
  b["input"] = ir::Tensor(ir::TensorType{ir::DType::f32, {1, 4, 3}}, x);
  std::vector<double> got = ir::run_outputs(g, b, {})[0].second.data;
  REQUIRE(got.size() == y.size());
  for (size_t i = 0; i < y.size(); i++) CHECK(got[i] == doctest::Approx(y[i]).epsilon(1e-5));
}
