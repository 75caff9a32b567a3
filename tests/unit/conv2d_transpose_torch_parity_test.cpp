// conv2d_transpose against PyTorch (issue #18): values and the gradients with respect to
// the input, kernel and bias for an upstream gradient dy, from the committed fixture
// tests/fixtures/conv1d/torch_conv2d_transpose.h (conv_transpose2d in double): "valid"
// and "same" with strides, square and oblong kernels. The reference interpreter and the
// JIT are both checked; emitted C++ trains a model with it as the interpreter does
// (codegen_cpp_parity_test.cpp, kUpsamplingModel).
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "model_error.h"
#include "tests/fixtures/conv1d/torch_conv2d_transpose.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

using namespace dlc;
namespace fx = torch_conv2d_transpose_fixture;

TEST_CASE("conv2d_transpose matches PyTorch: values and gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) {
    CAPTURE(std::string(c.members));
    std::string model = fmt::format(R"({{"input_shape": [{}, {}, {}], "layers": [{{"type": "conv2d_transpose", "name": "l", {}}}]}})",
                                    c.shape[1], c.shape[2], c.shape[3], c.members);
    ir::Graph g = frontend::build_model(frontend::load_model_text(model, "torch.json"), c.shape[0]).graph;
    g.batch = 0;
    ir::ValueId x = g.find("input"), k = g.find("l.kernel"), bias = g.find("l.bias");
    test_cpp::add_gradient_outputs(g, g.outputs()[0].value, c.dy, {{"dx", x}, {"dkernel", k}, {"dbias", bias}});
    ir::Bindings b = {{"input", ir::Tensor(g.type(x), c.x)}, {"l.kernel", ir::Tensor(g.type(k), c.kernel)},
                      {"l.bias", ir::Tensor(g.type(bias), c.bias)}};
    auto want = ir::run_outputs(g, b);
    auto got = test_cpp::run_jit(g, b);
    const std::vector<double>* expected[] = {&c.y, &c.dx, &c.dkernel, &c.dbias};
    const char* names[] = {"y", "dx", "dkernel", "dbias"};
    REQUIRE(want.size() == 4);
    REQUIRE(got.size() == 4);
    for (size_t i = 0; i < 4; i++) {
      test_cpp::check_close(want[i].second.data, *expected[i], std::string("interpreter ") + names[i], 2e-5);
      test_cpp::check_close(test_cpp::as_double(got[i]), *expected[i], std::string("jit ") + names[i], 2e-5);
    }
  }
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
