// random_rotation, random_zoom and random_translation against PyTorch (issue #18): with a
// fixed factor every image gets one map, whose bilinear resampling and input gradient
// PyTorch's grid_sample gives (tests/fixtures/augment/torch_augment.h: "zeros" padding
// for fill_mode "constant", "border" for "nearest"). The interpreter in training mode is
// checked here; emitted C++ and the JIT train the layers as the interpreter does
// (codegen_cpp_parity_test.cpp and codegen_jit_cpp_parity_test.cpp, kAugmentModel).
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "tests/fixtures/augment/torch_augment.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

using namespace dlc;
namespace fx = torch_augment_fixture;

TEST_CASE("augmentation layers match PyTorch's grid_sample: values and input gradients") {
  for (const fx::Case& c : fx::kCases) {
    CAPTURE(std::string(c.layer));
    std::string model = fmt::format(R"({{"input_shape": [{}, {}, {}], "layers": [{}]}})", fx::kH, fx::kW, fx::kC, c.layer);
    ir::Graph g = frontend::build_model(frontend::load_model_text(model, "torch.json"), fx::kN).graph;
    ir::ValueId x = g.find("input");
    test_cpp::add_gradient_outputs(g, g.outputs()[0].value, c.dy, {{"dx", x}});
    ir::Bindings b = {{"input", ir::Tensor(g.type(x), c.x)}};
    auto got = ir::run_outputs(g, b, ir::EvalContext{true, ir::Precision::f64, 1, 0});
    REQUIRE(got.size() == 2);
    test_cpp::check_close(got[0].second.data, c.y, "y", 1e-5);
    test_cpp::check_close(got[1].second.data, c.dx, "dx", 1e-5);
  }
}
