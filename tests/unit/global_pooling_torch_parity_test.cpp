// Global pooling layers against PyTorch (issue #18): each layer's value and input gradient
// for an upstream gradient dy, from the committed fixture
// tests/fixtures/pooling/torch_global_pooling.h (PyTorch's adaptive pooling in double on
// the NCHW / NCL permutation of dlc's NHWC / NTC input). dlc computes in f32: the reference
// interpreter and the JIT are both checked.
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "tests/fixtures/pooling/torch_global_pooling.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

using namespace dlc;
namespace fx = torch_global_pooling_fixture;

namespace {

using test_cpp::as_double;

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  test_cpp::check_close(got, want, what, 2e-6);
}

void check_case(const fx::Case& c) {
  CAPTURE(std::string(c.type));
  std::string model = fmt::format(R"({{"input_shape": [{}], "layers": [{{"type": "{}"}}]}})",
                                  fmt::join(c.shape, ", "), c.type);
  ir::Graph g = frontend::build_model(frontend::load_model_text(model, "torch.json"), fx::kBatch).graph;
  g.batch = 0; // run whole by the JIT helper: both samples, as the interpreter does
  ir::ValueId x = g.find("input");
  test_cpp::add_gradient_outputs(g, g.outputs()[0].value, fx::kDy, {{"dx", x}});
  ir::Bindings b = {{"input", ir::Tensor(g.type(x), fx::kX)}};
  auto want = ir::run_outputs(g, b);
  check_close(want[0].second.data, c.y, "interpreter y");
  check_close(want[1].second.data, c.dx, "interpreter dx");
  std::vector<std::vector<float>> got = test_cpp::run_jit(g, b);
  REQUIRE(got.size() == 2);
  check_close(as_double(got[0]), c.y, "jit y");
  check_close(as_double(got[1]), c.dx, "jit dx");
}

} // namespace

TEST_CASE("global pooling layers match PyTorch: values and input gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) check_case(c);
}
