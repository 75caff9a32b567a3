// Activations against PyTorch: each activation layer on 24 inputs over [-5, 5], its value
// and its input gradient for an upstream gradient dy, from the committed fixture
// tests/fixtures/activations/torch_activations.h (PyTorch in double; its script says how
// each case is computed). dlc computes in f32: the reference interpreter and the JIT
// (which inlines the single scalar formula in runtime/kernels/scalar.h) are both checked.
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "tests/fixtures/activations/torch_activations.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

using namespace dlc;
namespace fx = torch_activations_fixture;

namespace {

using test_cpp::as_double;

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  test_cpp::check_close(got, want, what, 2e-5);
}

// input [24] -> {"type": "activation", "activation": spec}; outputs "y" and, for
// loss = sum(y * dy), "dx".
void check_case(const fx::Case& c) {
  CAPTURE(c.spec);
  std::string model = fmt::format(R"({{"input_shape": [{}], "layers": [
      {{"type": "activation", "name": "act", "activation": {}}}]}})",
                                  fx::kX.size(), c.spec);
  frontend::Model m = frontend::load_model_text(model, "torch.json");
  ir::Graph g = frontend::build_model(m, 1).graph;
  REQUIRE(g.outputs().size() == 1);
  ir::ValueId x = g.find("input");
  test_cpp::add_gradient_outputs(g, g.outputs()[0].value, c.dy, {{"dx", x}});

  ir::Bindings b = {{"input", ir::Tensor(g.type(x), fx::kX)}};
  auto want = ir::run_outputs(g, b);
  REQUIRE(want.size() == 2);
  check_close(want[0].second.data, c.y, "interpreter y");
  check_close(want[1].second.data, c.dx, "interpreter dx");

  std::vector<std::vector<float>> got = test_cpp::run_jit(g, b);
  REQUIRE(got.size() == 2);
  check_close(as_double(got[0]), c.y, "jit y");
  check_close(as_double(got[1]), c.dx, "jit dx");
}

} // namespace

TEST_CASE("activations match PyTorch: values and input gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) check_case(c);
}
