// conv1d, max_pool1d and avg_pool1d against PyTorch (issue #18): values and the gradients
// with respect to the input, kernel and bias for an upstream gradient dy, from the
// committed fixture tests/fixtures/conv1d/torch_conv1d.h (double): valid, TensorFlow's
// "same" (extra step at the end), Keras's "causal", strides, explicit padding, and
// padded average windows that count real steps only. The reference interpreter and the
// JIT are both checked; emitted C++ trains a model with the layers as the interpreter
// does (codegen_cpp_parity_test.cpp).
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "model_error.h"
#include "tests/fixtures/conv1d/torch_conv1d.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

using namespace dlc;
namespace fx = torch_conv1d_fixture;

namespace {

void check_case(const fx::Case& c) {
  CAPTURE(std::string(c.layer));
  std::string model = fmt::format(R"({{"input_shape": [{}, {}], "layers": [{}]}})", c.shape[1], c.shape[2], c.layer);
  ir::Graph g = frontend::build_model(frontend::load_model_text(model, "torch.json"), c.shape[0]).graph;
  g.batch = 0; // run whole by the JIT helper, as the interpreter does
  ir::ValueId x = g.find("input");
  bool conv = !c.kernel.empty();
  std::vector<std::pair<std::string, ir::ValueId>> wrt = {{"dx", x}};
  ir::Bindings b = {{"input", ir::Tensor(g.type(x), c.x)}};
  if (conv) {
    ir::ValueId k = g.find("l.kernel"), bias = g.find("l.bias");
    wrt.insert(wrt.end(), {{"dkernel", k}, {"dbias", bias}});
    b["l.kernel"] = ir::Tensor(g.type(k), c.kernel);
    b["l.bias"] = ir::Tensor(g.type(bias), c.bias);
  }
  test_cpp::add_gradient_outputs(g, g.outputs()[0].value, c.dy, wrt);
  auto want = ir::run_outputs(g, b);
  std::vector<std::vector<float>> got = test_cpp::run_jit(g, b);
  std::vector<std::pair<const char*, const std::vector<double>*>> expected = {{"y", &c.y}, {"dx", &c.dx}};
  if (conv) expected.insert(expected.end(), {{"dkernel", &c.dkernel}, {"dbias", &c.dbias}});
  REQUIRE(want.size() == expected.size());
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < expected.size(); i++) {
    test_cpp::check_close(want[i].second.data, *expected[i].second, std::string("interpreter ") + expected[i].first, 2e-5);
    test_cpp::check_close(test_cpp::as_double(got[i]), *expected[i].second, std::string("jit ") + expected[i].first, 2e-5);
  }
}

std::string error_of(const std::string& layer, const std::string& shape = "[6, 2]") {
  return test_cpp::model_error(layer, shape);
}

} // namespace

TEST_CASE("conv1d and 1-D pooling match PyTorch: values and gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) check_case(c);
}

TEST_CASE("conv1d: Keras's kernel layout and output shapes") {
  auto m = frontend::load_model_text(R"({"input_shape": [10, 3], "layers": [
      {"type": "conv1d", "filters": 5, "kernel_size": 4, "padding": "causal"},
      {"type": "max_pool1d", "pool_size": 3},
      {"type": "avg_pool1d", "padding": "same"}]})", "m.json");
  ir::Graph g = frontend::build_model(m, 2).graph;
  CHECK(g.type(g.find("conv1d_1.kernel")).str() == "f32[4,3,5]");
  CHECK(g.type(g.outputs()[0].value).str() == "f32[2,2,5]"); // 10 causal -> 10, /3 valid -> 3, /2 same -> 2
}

TEST_CASE("conv1d and 1-D pooling: bad input") {
  CHECK(error_of(R"({"type": "conv1d", "filters": 2, "kernel_size": 3})", "[6, 2, 1]")
            .find("needs a 3-D input [batch, steps, channels]") != std::string::npos);
  CHECK(error_of(R"({"type": "conv1d", "filters": 2, "kernel_size": 7})")
            .find("window 7 does not fit the 6 steps from 'input' (padding 0,0)") != std::string::npos);
  CHECK(error_of(R"({"type": "conv1d", "filters": 2, "kernel_size": [2, 2]})").find("expected a positive integer") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "max_pool1d", "padding": "causal"})")
            .find("unknown padding 'causal'; use valid, same or explicit amounts") != std::string::npos);
  CHECK(error_of(R"({"type": "conv1d", "filters": 2, "kernel_size": 3, "padding": "casual"})")
            .find("did you mean 'causal'?") != std::string::npos);
  CHECK(error_of(R"({"type": "avg_pool1d", "pool_size": 2, "padding": [2, 0]})")
            .find("padding 2,0 must be smaller than the window 2") != std::string::npos);
  CHECK(error_of(R"({"type": "conv1d", "filters": 2, "kernel_size": 3, "padding": [1, 2, 3]})")
            .find("expected 1 or 2 padding amounts") != std::string::npos);
}
