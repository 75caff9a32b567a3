// upsampling2d (issue #18), Keras's UpSampling2D with nearest interpolation: the values
// and the gradient (each input pixel collects its block's gradients) worked out by hand,
// in the interpreter and the JIT; emitted C++ trains a model with it as the interpreter
// does (codegen_cpp_parity_test.cpp).
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "model_error.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

using namespace dlc;

TEST_CASE("upsampling2d: values and gradient by hand, interpreter and JIT") {
  // x = [[1, 2, 3], [4, 5, 6]] (one channel), size [2, 3]: each pixel becomes a 2 x 3 block.
  auto m = frontend::load_model_text(R"({"input_shape": [2, 3, 1], "layers": [{"type": "upsampling2d", "size": [2, 3]}]})",
                                     "m.json");
  ir::Graph g = frontend::build_model(m, 1).graph;
  g.batch = 0;
  REQUIRE(g.type(g.outputs()[0].value).str() == "f32[1,4,9,1]");
  // dy = 1 at every output position but one (row 3, column 8, which copies x = 6): 0.5
  // there. Then dx = 6 for every pixel but 6, which gets 5.5.
  std::vector<double> dy(36, 1.0);
  dy[3 * 9 + 8] = 0.5;
  test_cpp::add_gradient_outputs(g, g.outputs()[0].value, dy, {{"dx", g.find("input")}});
  ir::Bindings b = {{"input", ir::Tensor(g.type(g.find("input")), std::vector<double>{1, 2, 3, 4, 5, 6})}};
  std::vector<double> y = {1, 1, 1, 2, 2, 2, 3, 3, 3, 1, 1, 1, 2, 2, 2, 3, 3, 3,
                           4, 4, 4, 5, 5, 5, 6, 6, 6, 4, 4, 4, 5, 5, 5, 6, 6, 6};
  std::vector<double> dx = {6, 6, 6, 6, 6, 5.5};
  auto ref = ir::run_outputs(g, b);
  auto jit = test_cpp::run_jit(g, b);
  test_cpp::check_close(ref[0].second.data, y, "interpreter y", 1e-7);
  test_cpp::check_close(ref[1].second.data, dx, "interpreter dx", 1e-7);
  test_cpp::check_close(test_cpp::as_double(jit[0]), y, "jit y", 1e-7);
  test_cpp::check_close(test_cpp::as_double(jit[1]), dx, "jit dx", 1e-7);
}

TEST_CASE("upsampling2d: bad input") {
  auto error_of = test_cpp::model_error;
  CHECK(error_of(R"({"type": "upsampling2d"})", "[4, 2]").find("needs a 4-D input [batch, height, width, channels]") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "upsampling2d", "interpolation": "bilinear"})", "[2, 2, 1]")
            .find("interpolation 'bilinear' is not supported; \"nearest\" is") != std::string::npos);
  CHECK(error_of(R"({"type": "upsampling2d", "size": 0})", "[2, 2, 1]").find("expected a positive integer") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "upsampling2d", "size": [100000, 100000]})", "[1000, 1000, 1000]").find("too large") !=
        std::string::npos);
}
