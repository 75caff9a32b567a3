// ONNX import (frontend/onnx_import.h): models exported by PyTorch 1.13
// (tests/fixtures/onnx/make_onnx_fixtures.py, committed) give PyTorch's outputs to 1e-5
// through the reference interpreter, with the weights permuted into NHWC at import and no
// transpose left in the graph; hostile and unsupported files are one error each, listing
// every node dlc cannot import.
#include "error_of.h"
#include "frontend/files.h"
#include "frontend/model.h"
#include "frontend/onnx_import.h"
#include "ir/interp/interpreter.h"
#include "ir/printer.h"
#include "runtime/npy.h"

#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <unistd.h>

using namespace dlc;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) { return std::string(DLC_SOURCE_DIR) + "/tests/fixtures/onnx/" + name; }

// NCHW (or NCL) -> NHWC (NLC): how dlc takes PyTorch's images.
dlc_rt::Array channels_last(dlc_rt::Array a) {
  if (a.shape.size() < 3) return a;
  int64_t n = a.shape[0], c = a.shape[1], s = 1;
  for (size_t i = 2; i < a.shape.size(); i++) s *= a.shape[i];
  std::vector<float> out(a.data.size());
  for (int64_t b = 0; b < n; b++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t p = 0; p < s; p++) out[size_t((b * s + p) * c + ch)] = a.data[size_t((b * c + ch) * s + p)];
  a.data = out;
  a.shape.erase(a.shape.begin() + 1);
  a.shape.push_back(c);
  return a;
}

// The largest difference between dlc's output (reference interpreter, the file's own
// weights) and PyTorch's, over the fixture's batch.
double max_diff(const std::string& name) {
  frontend::Model m = frontend::load_model(fixture(name + ".onnx"));
  REQUIRE(m.weights);
  dlc_rt::Array x = dlc_rt::read_npy(fixture(name + ".x.npy"));
  if (name != "lstm" && name != "rnn" && name != "gru") x = channels_last(x); // sequences are [N, T, F] in both
  dlc_rt::Array y = channels_last(dlc_rt::read_npy(fixture(name + ".y.npy")));
  frontend::BuiltModel b = frontend::build_model(m, x.shape[0]);
  ir::Bindings in = *m.weights;
  in[m.inputs[0].name] = ir::Tensor(ir::TensorType{ir::DType::f32, ir::Shape(x.shape)}, x.data);
  auto outs = ir::run_outputs(b.graph, in);
  REQUIRE(outs.size() == 1);
  CHECK(outs[0].second.shape().dims == y.shape);
  double d = 0;
  for (size_t i = 0; i < y.data.size(); i++) d = std::max(d, std::abs(outs[0].second.data[i] - double(y.data[i])));
  return d;
}

std::string import_error(const onnx::ModelProto& model) {
  std::string bytes;
  model.SerializeToString(&bytes);
  return error_of([&] { frontend::onnx_to_dlc(bytes, "m.onnx"); });
}

// A one-node model: x [N, 3] -> op -> y, opset 13.
onnx::ModelProto one_node(const std::string& op) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  onnx::ValueInfoProto* x = g->add_input();
  x->set_name("x");
  auto* t = x->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  t->mutable_shape()->add_dim()->set_dim_param("batch");
  t->mutable_shape()->add_dim()->set_dim_value(3);
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("the_" + op);
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

} // namespace

TEST_CASE("onnx: PyTorch's exported models give PyTorch's outputs to 1e-5") {
  // mlp: Gemm, Relu, Gelu (PyTorch's Div/Erf/Add/Mul/Mul pattern), Softmax (opset 13); cnn: Conv, MaxPool, Flatten + Gemm;
  // residual: BN folded into Conv by the exporter, Add, GlobalAveragePool (opset 17);
  // batchnorm: BatchNormalization after Gemm (opset 11); depthwise: group = channels,
  // Pad + AveragePool, the Shape/Gather/Concat/Reshape of x.reshape(x.shape[0], -1);
  // concat: channel Concat, padded MaxPool, BatchNorm1d, Selu (opset 12); generator:
  // Reshape of features into NCHW, ConvTranspose, PRelu; embed: Gather (embedding),
  // Transpose NLC -> NCL, Conv1d, MaxPool1d, ReduceMean (opset 14); lstm: batch-first
  // LSTM (Transpose to time-major, ConstantOfShape initial states, Squeeze, Gather of the
  // last step); rnn: two ReLU RNN layers (Slice of the states), ReduceMean over the steps;
  // gru: two GRU layers with linear_before_reset=1 (dlc's reset_after, opset 14).
  for (const char* name : {"mlp", "cnn", "residual", "batchnorm", "depthwise", "concat", "generator", "embed", "lstm",
                           "rnn", "gru"}) {
    CAPTURE(name);
    CHECK(max_diff(name) < 1e-5);
  }
}

TEST_CASE("onnx: NCHW weights are permuted once at import; no transpose is left in the graph") {
  frontend::Model m = frontend::load_model(fixture("cnn.onnx"));
  std::string g = ir::print_graph(frontend::build_model(m, 2).graph);
  CHECK(g.find("transpose") == std::string::npos);
  // Layers are named after PyTorch's modules ("0" of a Sequential -> conv2d_0); the
  // ReLUs fold into the layers before them.
  CHECK(g.find("conv2d_0.conv2d") != std::string::npos);
  CHECK(g.find("conv2d_0.relu") != std::string::npos);
  CHECK(m.inputs[0].shape == ir::Shape{28, 28, 1});
  // The first dense layer reads a flatten of a [16, 6, 6] NCHW image: its kernel's row j
  // (dlc feature j = (h·6 + w)·16 + c) is PyTorch's weight column c·36 + h·6 + w.
  const ir::Tensor& k = m.weights->at("dense_7.kernel");
  REQUIRE(k.shape().dims == std::vector<int64_t>{576, 32});
  onnx::ModelProto p;
  std::string bytes = frontend::read_file(fixture("cnn.onnx"));
  REQUIRE(p.ParseFromString(bytes));
  const onnx::TensorProto* w = nullptr;
  for (const auto& t : p.graph().initializer())
    if (t.name() == "7.weight") w = &t;
  REQUIRE(w);
  auto torch_w = [&](int64_t out, int64_t in) {
    float f;
    std::memcpy(&f, w->raw_data().data() + 4 * (out * 576 + in), 4);
    return double(f);
  };
  for (int64_t h : {0, 3, 5})
    for (int64_t wi : {0, 2, 5})
      for (int64_t c : {0, 7, 15})
        for (int64_t o : {0, 31}) CHECK(k.data[size_t(((h * 6 + wi) * 16 + c) * 32 + o)] == torch_w(o, c * 36 + h * 6 + wi));
}

TEST_CASE("onnx: names, folding and layers of the translated model") {
  frontend::OnnxModel r = frontend::onnx_to_dlc(frontend::read_file(fixture("residual.onnx")), "residual.onnx");
  for (const char* s : {R"("name": "stem")", R"("type": "add")", R"("name": "head")", R"("activation": "relu")",
                        R"("type": "global_average_pooling2d")"})
    CHECK_MESSAGE(r.json.find(s) != std::string::npos, s);
  CHECK(r.weights.count("stem.kernel") == 1);
  CHECK(r.weights.at("stem.kernel").shape().dims == std::vector<int64_t>{3, 3, 3, 8}); // HWIO
  REQUIRE(r.layout.size() == 2);
  CHECK(r.layout[0] == "input x: NCHW [3, 8, 8] -> dlc 'x' NHWC [8, 8, 3]");
  frontend::OnnxModel bn = frontend::onnx_to_dlc(frontend::read_file(fixture("batchnorm.onnx")), "bn.onnx");
  CHECK(bn.json.find(R"("momentum": 0.8999999761581421)") != std::string::npos); // PyTorch's 0.1
  CHECK(bn.json.find(R"("epsilon": 9.999999747378752e-06)") != std::string::npos);
  CHECK(bn.weights.count("batch_normalization_1.moving_variance") == 1);
}

TEST_CASE("onnx: every node dlc cannot import is named in one error") {
  std::string e = error_of([] { frontend::load_model(fixture("unsupported.onnx")); });
  CHECK(e.find("unsupported.onnx: ONNX opset 13: 3 problems dlc cannot import") != std::string::npos);
  CHECK(e.find("node '/grouped/Conv' (Conv): group 2 with 4 input channels") != std::string::npos);
  CHECK(e.find("node '/Mul' (Mul): Mul of a computed tensor") != std::string::npos);
  CHECK(e.find("node '/Sin' (Sin): no dlc layer computes it") != std::string::npos);
}

TEST_CASE("onnx: hostile and malformed files are one located error") {
  CHECK(error_of([] { frontend::onnx_to_dlc("not a protobuf \xff\xff\xff", "x.onnx"); }) ==
        "x.onnx: not an ONNX model (the protobuf does not parse)");
  onnx::ModelProto m = one_node("Relu");
  m.mutable_opset_import(0)->set_version(18);
  CHECK(import_error(m).find("m.onnx: ONNX opset 18: dlc reads opsets 11 to 17") == 0);
  m.mutable_opset_import(0)->set_version(10);
  CHECK(import_error(m).find("ONNX opset 10") != std::string::npos);
  CHECK(import_error(one_node("Sin")) ==
        "m.onnx: ONNX opset 13: 1 problem dlc cannot import: node 'the_Sin' (Sin): no dlc layer computes it");
  CHECK(import_error(one_node("Erf")).find("node 'the_Erf' (Erf): an Erf outside x · 0.5 · (1 + erf(x / √2))") !=
        std::string::npos);
  onnx::ModelProto undefined = one_node("Relu");
  undefined.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  CHECK(import_error(undefined).find("node 'the_Relu' (Relu): reads 'nowhere', which no node or input defines") !=
        std::string::npos);
  // A weight whose raw bytes do not match its dims; one kept in an external file.
  onnx::ModelProto gemm = one_node("Gemm");
  onnx::TensorProto* w = gemm.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->add_dims(1000000);
  w->set_raw_data(std::string(12, '\0'));
  gemm.mutable_graph()->mutable_node(0)->add_input("w");
  CHECK(import_error(gemm).find("initializer 'w': tensor 'w' has 12 bytes of data for 3000000 elements") !=
        std::string::npos);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  CHECK(import_error(gemm).find("keeps its data in an external file") != std::string::npos);
  w->clear_dims();
  w->add_dims(int64_t(1) << 40);
  w->add_dims(int64_t(1) << 40);
  w->set_data_location(onnx::TensorProto::DEFAULT);
  CHECK(import_error(gemm).find("has dims out of range") != std::string::npos);
  // A dynamic feature extent: dlc compiles static shapes.
  onnx::ModelProto dyn = one_node("Relu");
  dyn.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_param("f");
  CHECK(import_error(dyn).find("input 'x' has a dynamic or empty extent at axis 1") != std::string::npos);
  // A file on disk that is not ONNX, through load_model.
  fs::path p = fs::temp_directory_path() / ("dlc-onnx-" + std::to_string(::getpid()) + ".onnx");
  frontend::write_file_atomic(p.string(), "{\"layers\": []}");
  CHECK(error_of([&] { frontend::load_model(p.string()); }).find("not an ONNX model") != std::string::npos);
  fs::remove(p);
}

TEST_CASE("onnx: dlc export is read back by dlc import to the same layers, names and weights") {
  for (const char* name : {"cnn.json", "residual.json"}) {
    CAPTURE(name);
    frontend::Model m = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name);
    ir::Graph g = frontend::build_model(m, 1).graph;
    ir::Bindings w = ir::init_params(g, 7);
    frontend::OnnxModel back = frontend::onnx_to_dlc(frontend::dlc_to_onnx(m, w), "export.onnx");
    REQUIRE(back.weights.size() == w.size());
    for (auto& [k, t] : w) {
      CAPTURE(k);
      REQUIRE(back.weights.count(k) == 1); // layers keep their names through ONNX's node names
      CHECK(back.weights.at(k).shape().dims == t.shape().dims);
      for (size_t i = 0; i < t.data.size(); i++)
        if (float(back.weights.at(k).data[i]) != float(t.data[i])) FAIL("value " << i << " differs");
    }
    // NHWC inputs stay NHWC: the Transpose after the input is layout, not a layer.
    CHECK(back.layout[0].find("NCHW") == std::string::npos);
  }
  frontend::Model lstm = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/lstm_small.json");
  std::string e = error_of([&] { frontend::dlc_to_onnx(lstm, ir::init_params(frontend::build_model(lstm, 1).graph, 0)); });
  CHECK(e.find("cannot be exported to ONNX: layer 'lstm_1': type 'lstm' is not exported to ONNX yet") != std::string::npos);
}

TEST_CASE("onnx: fuzzer findings stay fixed (shape overflow, bytes that are not UTF-8)") {
  // A Reshape to extents whose product overflows int64: refused, not undefined behaviour.
  onnx::ModelProto m = one_node("Reshape");
  onnx::TensorProto* s = m.mutable_graph()->add_initializer();
  s->set_name("s");
  s->set_data_type(onnx::TensorProto::INT64);
  s->add_dims(4);
  for (int64_t v : {int64_t(-1), int64_t(1) << 39, int64_t(1) << 39, int64_t(3)}) s->add_int64_data(v);
  m.mutable_graph()->mutable_node(0)->add_input("s");
  CHECK(import_error(m).find("out of range") != std::string::npos);
  // A producer name that is not UTF-8 ends up in the description, replaced.
  onnx::ModelProto r = one_node("Relu");
  r.set_producer_name("\xff\xfe torch");
  std::string bytes;
  r.SerializeToString(&bytes);
  CHECK(frontend::onnx_to_dlc(bytes, "m.onnx").json.find("torch") != std::string::npos);
}
