// depthwise_conv2d against PyTorch (issue #18): values and the gradients with respect to
// the input, kernel and bias for an upstream gradient dy, from the committed fixture
// tests/fixtures/depthwise/torch_depthwise_conv2d.h (conv2d with groups = channels, in
// double): strides 1 and 2, "valid", "same" and explicit padding, depth multipliers 1, 2
// and 3, oblong kernels and uneven sizes, one case with a fused relu. The reference
// interpreter and the JIT are both checked; emitted C++ trains a model with it as the
// interpreter does (codegen_cpp_parity_test.cpp, kDepthwiseModel).
#include "conv_torch_parity.h"
#include "frontend/model.h"
#include "model_error.h"
#include "tests/fixtures/depthwise/torch_depthwise_conv2d.h"

#include <doctest/doctest.h>

using namespace dlc;
namespace fx = torch_depthwise_conv2d_fixture;

TEST_CASE("depthwise_conv2d matches PyTorch: values and gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) test_cpp::check_conv_layer("depthwise_conv2d", "depthwise_kernel", c);
}

TEST_CASE("depthwise_conv2d: output shapes, Keras's kernel layout, fans and members") {
  auto graph_of = [](const std::string& members) {
    auto m = frontend::load_model_text(R"({"input_shape": [5, 7, 3], "layers": [{"type": "depthwise_conv2d", )" + members + "}]}",
                                       "m.json");
    return frontend::build_model(m, 2).graph;
  };
  auto shape_of = [&](const std::string& members) {
    ir::Graph g = graph_of(members);
    return g.type(g.outputs()[0].value).str() + " " + g.type(g.find("depthwise_conv2d_1.depthwise_kernel")).str();
  };
  CHECK(shape_of(R"("kernel_size": 3)") == "f32[2,3,5,3] f32[3,3,3,1]");
  CHECK(shape_of(R"("kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2)") ==
        "f32[2,3,4,6] f32[3,3,3,2]");
  CHECK(shape_of(R"("kernel_size": [1, 2], "padding": [1, 2, 0, 1], "depth_multiplier": 4)") ==
        "f32[2,8,7,12] f32[1,2,3,4]");
  // Keras's fans of a [kh, kw, c, m] kernel: kh kw c and kh kw m.
  ir::Graph g = graph_of(R"("kernel_size": [2, 3], "depth_multiplier": 2, "depthwise_regularizer": "l2",
                            "depthwise_constraint": "non_neg", "bias_initializer": "ones")");
  const ir::Value& k = g.value(g.find("depthwise_conv2d_1.depthwise_kernel"));
  CHECK(k.init.kind == "glorot_uniform");
  CHECK(k.init.fan_in == 18);
  CHECK(k.init.fan_out == 12);
  CHECK(k.l2 == 0.01);
  CHECK(k.non_neg);
  CHECK(g.value(g.find("depthwise_conv2d_1.bias")).init.kind == "ones");
  CHECK(g.type(g.find("depthwise_conv2d_1.bias")).str() == "f32[6]");
  CHECK(graph_of(R"("kernel_size": 3, "use_bias": false)").find("depthwise_conv2d_1.bias") == ir::kNoValue);
}

TEST_CASE("depthwise_conv2d: bad input gets one clear error line") {
  auto error_of = [](const std::string& members, const std::string& shape = "[5, 7, 3]") {
    std::string e = test_cpp::model_error(R"({"type": "depthwise_conv2d", )" + members + "}", shape);
    CHECK(e.find('\n') == std::string::npos);
    return e;
  };
  CHECK(error_of(R"("kernel_size": 3)", "[7, 3]").find("needs a 4-D input [batch, height, width, channels]") !=
        std::string::npos);
  CHECK(error_of(R"("kernel_size": 3, "depth_multiplier": 0)").find("depth_multiplier") != std::string::npos);
  CHECK(error_of(R"("kernel_size": 3, "depth_multiplier": 0)").find("positive integer") != std::string::npos);
  CHECK(error_of(R"("kernel_size": 6)").find("window 6x6 does not fit the 5x7 input") != std::string::npos);
  CHECK(error_of(R"("depth_multiplier": 2)").find("kernel_size") != std::string::npos);
  CHECK(error_of(R"("kernel_size": 3, "filters": 4)").find("unknown attribute 'filters'") != std::string::npos);
  CHECK(error_of(R"("kernel_size": 3, "padding": "causal")").find("unknown padding 'causal'") != std::string::npos);
}
