// The JSON frontend builds the graphs docs/model-format.md describes: graph-form models
// that branch and merge, parameter names, shapes and default initializers, padding and
// layer naming. Expected shapes and counts are worked out by hand in the comments.
#include "frontend/layers.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"

#include <doctest/doctest.h>

using namespace dlc;
using frontend::BuiltModel;
using frontend::LayerInfo;
using ir::Shape;

namespace {

BuiltModel build_example(const std::string& name, int64_t batch) {
  frontend::Model m = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json");
  return frontend::build_model(m, batch);
}

BuiltModel build_text(const std::string& json, int64_t batch = 1) {
  return frontend::build_model(frontend::load_model_text(json, "test.json"), batch);
}

const LayerInfo& layer(const BuiltModel& bm, const std::string& name) {
  for (auto& l : bm.layers)
    if (l.name == name) return l;
  FAIL("no layer " << name);
  throw 0;
}

Shape out_shape(const BuiltModel& bm, const std::string& layer_name) {
  return bm.graph.type(layer(bm, layer_name).output).shape;
}

Shape param_shape(const BuiltModel& bm, const std::string& param) {
  ir::ValueId v = bm.graph.find(param);
  REQUIRE_MESSAGE(v != ir::kNoValue, "no parameter " << param);
  CHECK(bm.graph.value(v).kind == ir::ValueKind::param);
  return bm.graph.type(v).shape;
}

const ir::Node& node_named(const BuiltModel& bm, const std::string& name) {
  for (auto& n : bm.graph.nodes())
    if (n.name == name) return n;
  FAIL("no node " << name);
  throw 0;
}

std::vector<std::string> layer_names(const BuiltModel& bm) {
  std::vector<std::string> n;
  for (auto& l : bm.layers) n.push_back(l.name);
  return n;
}

} // namespace

TEST_CASE("frontend: residual example, a residual add and a concat of two branches") {
  BuiltModel bm = build_example("residual", 2);
  REQUIRE(bm.graph.inputs().size() == 1);
  CHECK(bm.graph.type(bm.graph.inputs()[0]).shape == Shape{2, 16, 16, 3});
  // 3x3 "same" convolutions keep 16x16; the add joins stem and res_conv2 (both 16 channels).
  CHECK(out_shape(bm, "stem") == Shape{2, 16, 16, 16});
  CHECK(out_shape(bm, "res_conv2") == Shape{2, 16, 16, 16});
  CHECK(layer(bm, "res_add").inputs == std::vector<std::string>{"stem", "res_conv2"});
  CHECK(out_shape(bm, "res_add") == Shape{2, 16, 16, 16});
  // The add node reads exactly the two layers' outputs, then relu follows.
  const ir::Node& add = node_named(bm, "res_add.add");
  CHECK(add.operands == std::vector<ir::ValueId>{layer(bm, "stem").output, layer(bm, "res_conv2").output});
  CHECK(bm.graph.node(bm.graph.value(layer(bm, "res_add").output).node).op->name == "relu");
  // Branches: a 1x1 conv to 8 channels, a 3x3 stride-1 "same" max pool keeping 16.
  CHECK(out_shape(bm, "branch_conv") == Shape{2, 16, 16, 8});
  CHECK(out_shape(bm, "branch_pool") == Shape{2, 16, 16, 16});
  CHECK(node_named(bm, "branch_pool.max_pool2d").attrs.get_ints("pads") == std::vector<int64_t>{1, 1, 1, 1});
  // concat on the channel axis (3 of NHWC): 8 + 16 = 24.
  CHECK(out_shape(bm, "merge") == Shape{2, 16, 16, 24});
  CHECK(node_named(bm, "merge.concat").attrs.get_int("axis") == 3);
  CHECK(out_shape(bm, "pool") == Shape{2, 8, 8, 24});
  CHECK(out_shape(bm, "flatten") == Shape{2, 1536});
  CHECK(param_shape(bm, "stem.kernel") == Shape{3, 3, 3, 16});
  CHECK(param_shape(bm, "res_conv1.kernel") == Shape{3, 3, 16, 16});
  CHECK(param_shape(bm, "branch_conv.kernel") == Shape{1, 1, 16, 8});
  CHECK(param_shape(bm, "logits.kernel") == Shape{1536, 10});
  CHECK(param_shape(bm, "logits.bias") == Shape{10});
  REQUIRE(bm.graph.outputs().size() == 1);
  CHECK(bm.graph.outputs()[0].name == "logits");
  CHECK(bm.graph.type(bm.graph.outputs()[0].value).shape == Shape{2, 10});
  // 448 + 2 * 2,320 + 136 + 15,370
  CHECK(bm.graph.param_count() == 20594);
}

TEST_CASE("frontend: two inputs and two outputs") {
  frontend::Model m = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/two_inputs_two_outputs.json");
  REQUIRE(m.inputs.size() == 2);
  CHECK(m.inputs[0].name == "image");
  CHECK(m.inputs[0].shape == Shape{28, 28, 1});
  CHECK(m.inputs[1].name == "meta");
  CHECK(m.inputs[1].shape == Shape{4});
  CHECK(m.training.losses.at(0).output == "digit");
  BuiltModel bm = frontend::build_model(m, 4);
  CHECK(out_shape(bm, "pool") == Shape{4, 13, 13, 8}); // (28 - 3 + 1) / 2 = 13
  CHECK(layer(bm, "meta_features").inputs == std::vector<std::string>{"meta"});
  CHECK(out_shape(bm, "features") == Shape{4, 40}); // 32 + 8
  REQUIRE(bm.graph.outputs().size() == 2);
  CHECK(bm.graph.outputs()[0].name == "digit");
  CHECK(bm.graph.type(bm.graph.outputs()[0].value).shape == Shape{4, 10});
  CHECK(bm.graph.outputs()[1].name == "is_even");
  CHECK(bm.graph.type(bm.graph.outputs()[1].value).shape == Shape{4, 1});
  CHECK(bm.graph.param_count() == 43867);
}

TEST_CASE("frontend: VGG16 builds with the published parameter count") {
  BuiltModel bm = build_example("vgg16", 1);
  CHECK(bm.graph.param_count() == 138357544);
  CHECK(out_shape(bm, "block5_pool") == Shape{1, 7, 7, 512});
  CHECK(param_shape(bm, "fc1.kernel") == Shape{25088, 4096});
  CHECK(param_shape(bm, "block3_conv1.kernel") == Shape{3, 3, 128, 256});
}

TEST_CASE("frontend: default initializers and their fans") {
  BuiltModel bm = build_text(R"({"input_shape": [6, 6, 2], "layers": [
      {"type": "conv2d", "filters": 5, "kernel_size": [3, 2], "activation": "prelu"},
      {"type": "flatten"},
      {"type": "dense", "units": 7, "kernel_initializer": {"type": "normal", "stddev": 0.5}}]})");
  auto init = [&](const std::string& p) { return bm.graph.value(bm.graph.find(p)).init; };
  // conv2d kernel HWIO [3, 2, 2, 5]: fan_in = 3*2*2 = 12, fan_out = 3*2*5 = 30.
  CHECK(param_shape(bm, "conv2d_1.kernel") == Shape{3, 2, 2, 5});
  CHECK(init("conv2d_1.kernel").kind == "glorot_uniform");
  CHECK(init("conv2d_1.kernel").fan_in == 12);
  CHECK(init("conv2d_1.kernel").fan_out == 30);
  CHECK(init("conv2d_1.bias").kind == "zeros");
  // prelu: one slope per channel, 0.25.
  CHECK(param_shape(bm, "conv2d_1.slope") == Shape{5});
  CHECK(init("conv2d_1.slope").kind == "constant");
  CHECK(init("conv2d_1.slope").value == 0.25);
  // valid 3x2 window on 6x6: 4x5x5 = 100 features; dense kernel [100, 7].
  CHECK(param_shape(bm, "dense_1.kernel") == Shape{100, 7});
  CHECK(init("dense_1.kernel").kind == "normal");
  CHECK(init("dense_1.kernel").has_value);
  CHECK(init("dense_1.kernel").value == 0.5);
  CHECK(init("dense_1.kernel").fan_in == 100);
  CHECK(init("dense_1.kernel").fan_out == 7);
}

TEST_CASE("frontend: \"same\" padding puts the odd pixel at the bottom and right") {
  // n = 6, f = 3, s = 2: out = ceil(6/2) = 3, total = (3-1)*2 + 3 - 6 = 1 -> top 0, bottom 1.
  BuiltModel a = build_text(R"({"input_shape": [6, 6, 1], "layers": [
      {"type": "conv2d", "filters": 1, "kernel_size": 3, "strides": 2, "padding": "same"}]})");
  CHECK(node_named(a, "conv2d_1.conv2d").attrs.get_ints("pads") == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(out_shape(a, "conv2d_1") == Shape{1, 3, 3, 1});
  // n = 7, f = 4, s = 1: total 3 -> 1 before, 2 after; height and width independently
  // (width 5, f = 1: no padding).
  BuiltModel b = build_text(R"({"input_shape": [7, 5, 1], "layers": [
      {"type": "conv2d", "filters": 1, "kernel_size": [4, 1], "padding": "same"}]})");
  CHECK(node_named(b, "conv2d_1.conv2d").attrs.get_ints("pads") == std::vector<int64_t>{1, 2, 0, 0});
  CHECK(out_shape(b, "conv2d_1") == Shape{1, 7, 5, 1});
  // Explicit forms: p, [ph, pw], [top, bottom, left, right].
  BuiltModel c = build_text(R"({"input_shape": [5, 5, 1], "layers": [
      {"type": "conv2d", "filters": 1, "kernel_size": 3, "padding": 2},
      {"type": "conv2d", "filters": 1, "kernel_size": 3, "padding": [1, 0]},
      {"type": "avg_pool2d", "pool_size": 2, "padding": [1, 0, 0, 1]}]})");
  CHECK(node_named(c, "conv2d_1.conv2d").attrs.get_ints("pads") == std::vector<int64_t>{2, 2, 2, 2});
  CHECK(out_shape(c, "conv2d_1") == Shape{1, 7, 7, 1}); // 5 + 4 - 3 + 1
  CHECK(node_named(c, "conv2d_2.conv2d").attrs.get_ints("pads") == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(out_shape(c, "conv2d_2") == Shape{1, 7, 5, 1});
  CHECK(out_shape(c, "avg_pool2d_1") == Shape{1, 4, 3, 1}); // floor(8/2), floor(6/2)
}

TEST_CASE("frontend: automatic layer names count per type and skip names the file uses") {
  BuiltModel bm = build_text(R"({"input_shape": [4], "layers": [
      {"type": "dense", "units": 3},
      {"type": "dense", "units": 3, "name": "dense_2"},
      {"type": "dropout", "rate": 0.5},
      {"type": "dense", "units": 3}]})");
  // The 1st automatic dense is dense_1; the 2nd would be dense_2, which the file names
  // explicitly, so it becomes dense_3.
  CHECK(layer_names(bm) == std::vector<std::string>{"dense_1", "dense_2", "dropout_1", "dense_3"});
  BuiltModel later = build_text(R"({"input_shape": [4], "layers": [
      {"type": "dense", "units": 3},
      {"type": "dense", "units": 3, "name": "dense_1"}]})");
  CHECK(layer_names(later) == std::vector<std::string>{"dense_2", "dense_1"});
}

TEST_CASE("frontend: dense on a rank-3 input acts on the last axis") {
  BuiltModel bm = build_text(R"({"input_shape": [5, 8], "layers": [{"type": "dense", "units": 4}]})", 3);
  CHECK(param_shape(bm, "dense_1.kernel") == Shape{8, 4});
  CHECK(out_shape(bm, "dense_1") == Shape{3, 5, 4});
  CHECK(bm.graph.type(node_named(bm, "dense_1.to_rows").results[0]).shape == Shape{15, 8});
}

TEST_CASE("frontend: reshape infers one -1 extent") {
  BuiltModel bm = build_text(R"({"input_shape": [784], "layers": [
      {"type": "reshape", "target_shape": [-1, 28, 1]}]})", 2);
  CHECK(out_shape(bm, "reshape_1") == Shape{2, 28, 28, 1});
}

TEST_CASE("frontend: checked_numel guards against overflow") {
  CHECK(frontend::checked_numel(Shape{2, 3, 4}) == 24);
  CHECK(frontend::checked_numel(Shape{}) == 1);
  CHECK(frontend::checked_numel(Shape{int64_t(1) << 24, int64_t(1) << 24}) == int64_t(1) << 48);
  CHECK(frontend::checked_numel(Shape{int64_t(1) << 24, (int64_t(1) << 24) + 1}) == -1);
  CHECK(frontend::checked_numel(Shape{int64_t(1) << 40, int64_t(1) << 40}) == -1); // 2^80 overflows
  CHECK(frontend::checked_numel(Shape{3, 0}) == -1);
}

TEST_CASE("global pooling layers: values by hand, keepdims, and bad input") {
  // One sample, 2x2 image, 2 channels: channel 0 = 1, 2, 3, 6 (mean 3, max 6), channel 1 =
  // -1, -4, -2, -5 (mean -3, max -1).
  ir::Tensor image(ir::TensorType{ir::DType::f32, {1, 2, 2, 2}}, {1, -1, 2, -4, 3, -2, 6, -5});
  auto run = [&](const std::string& type, const std::string& extra, const ir::Tensor& x) {
    BuiltModel bm = build_text(R"({"input_shape": )" + std::string(x.shape().rank() == 4 ? "[2, 2, 2]" : "[4, 2]") +
                               R"(, "layers": [{"type": ")" + type + "\"" + extra + "}]}");
    return ir::run_outputs(bm.graph, {{"input", x}}, {})[0].second;
  };
  auto avg = run("global_average_pooling2d", "", image), max = run("global_max_pooling2d", "", image);
  CHECK(avg.shape() == Shape{1, 2});
  CHECK(avg.data == std::vector<double>{3, -3});
  CHECK(max.data == std::vector<double>{6, -1});
  CHECK(run("global_average_pooling2d", R"(, "keepdims": true)", image).shape() == Shape{1, 1, 1, 2});
  // The same numbers as a sequence of 4 steps.
  ir::Tensor seq(ir::TensorType{ir::DType::f32, {1, 4, 2}}, image.data);
  CHECK(run("global_average_pooling1d", "", seq).data == std::vector<double>{3, -3});
  CHECK(run("global_max_pooling1d", R"(, "keepdims": true)", seq).shape() == Shape{1, 1, 2});
  CHECK(run("global_max_pooling1d", "", seq).data == std::vector<double>{6, -1});
  std::string e;
  try {
    build_text(R"({"input_shape": [4, 2], "layers": [{"type": "global_average_pooling2d"}]})");
  } catch (const Error& err) {
    e = err.what();
  }
  CHECK(e.find("needs a 4-D input [batch, height, width, channels]") != std::string::npos);
}
