// conv2d_transpose against PyTorch (issue #18): values and the gradients with respect to
// the input, kernel and bias for an upstream gradient dy, from the committed fixture
// tests/fixtures/conv1d/torch_conv2d_transpose.h (conv_transpose2d in double): "valid"
// and "same" with strides, square and oblong kernels. The reference interpreter and the
// JIT are both checked; emitted C++ trains a model with it as the interpreter does
// (codegen_cpp_parity_test.cpp, kUpsamplingModel).
#include "conv_torch_parity.h"
#include "frontend/model.h"
#include "model_error.h"
#include "tests/fixtures/conv1d/torch_conv2d_transpose.h"

#include <doctest/doctest.h>

using namespace dlc;
namespace fx = torch_conv2d_transpose_fixture;

TEST_CASE("conv2d_transpose matches PyTorch: values and gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) test_cpp::check_conv_layer("conv2d_transpose", "kernel", c);
}

TEST_CASE("conv2d_transpose: output shapes, Keras's kernel layout, bad input") {
  auto shape_of = [](const std::string& members) {
    auto m = frontend::load_model_text(R"({"input_shape": [5, 7, 3], "layers": [{"type": "conv2d_transpose", )" + members + "}]}",
                                       "m.json");
    ir::Graph g = frontend::build_model(m, 2).graph;
    return g.type(g.outputs()[0].value).str() + " " + g.type(g.find("conv2d_transpose_1.kernel")).str();
  };
  CHECK(shape_of(R"("filters": 4, "kernel_size": 3, "strides": 2)") == "f32[2,11,15,4] f32[3,3,4,3]");
  CHECK(shape_of(R"("filters": 4, "kernel_size": 3, "strides": 2, "padding": "same")") == "f32[2,10,14,4] f32[3,3,4,3]");
  auto error_of = [](const std::string& members) {
    return test_cpp::model_error(R"({"type": "conv2d_transpose", )" + members + "}", "[5, 7, 3]");
  };
  CHECK(error_of(R"("filters": 4, "kernel_size": 3, "padding": "causal")").find("unknown padding 'causal'") != std::string::npos);
  CHECK(error_of(R"("filters": 4)").find("kernel_size") != std::string::npos);
  CHECK(error_of(R"("filters": 4, "kernel_size": 3, "output_padding": 1)").find("unknown attribute 'output_padding'") !=
        std::string::npos);
}
