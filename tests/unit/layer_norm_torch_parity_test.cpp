// layer_normalization against PyTorch (issue #18): values and the gradients with respect to
// the input, gamma and beta for an upstream gradient dy, from the committed fixture
// tests/fixtures/normalization/torch_layer_norm.h (F.layer_norm in double): over the last
// axis, over two trailing axes, and with Keras's and PyTorch's epsilons. dlc computes in
// f32: the reference interpreter and the JIT are both checked; a model with the layer
// trains in emitted C++ as in the interpreter (codegen_cpp_parity_test.cpp).
#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "tests/fixtures/normalization/torch_layer_norm.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

using namespace dlc;
namespace fx = torch_layer_norm_fixture;

namespace {

using test_cpp::as_double;

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  test_cpp::check_close(got, want, what, 2e-5);
}

void check_case(const fx::Case& c) {
  CAPTURE(std::string(c.members));
  std::vector<int64_t> per_sample(c.shape.begin() + 1, c.shape.end());
  std::string members = std::string(c.members).empty() ? "" : ", " + std::string(c.members);
  std::string model = fmt::format(R"({{"input_shape": [{}], "layers": [{{"type": "layer_normalization", "name": "ln"{}}}]}})",
                                  fmt::join(per_sample, ", "), members);
  ir::Graph g = frontend::build_model(frontend::load_model_text(model, "torch.json"), c.shape[0]).graph;
  g.batch = 0; // run whole by the JIT helper, as the interpreter does
  ir::ValueId x = g.find("input"), gamma = g.find("ln.gamma"), beta = g.find("ln.beta");
  test_cpp::add_gradient_outputs(g, g.outputs()[0].value, c.dy, {{"dx", x}, {"dgamma", gamma}, {"dbeta", beta}});
  ir::Bindings b = {{"input", ir::Tensor(g.type(x), c.x)},
                    {"ln.gamma", ir::Tensor(g.type(gamma), c.gamma)},
                    {"ln.beta", ir::Tensor(g.type(beta), c.beta)}};
  auto want = ir::run_outputs(g, b);
  std::vector<std::vector<float>> got = test_cpp::run_jit(g, b);
  REQUIRE(got.size() == 4);
  const std::vector<double>* expected[] = {&c.y, &c.dx, &c.dgamma, &c.dbeta};
  const char* names[] = {"y", "dx", "dgamma", "dbeta"};
  for (size_t i = 0; i < 4; i++) {
    check_close(want[i].second.data, *expected[i], std::string("interpreter ") + names[i]);
    check_close(as_double(got[i]), *expected[i], std::string("jit ") + names[i]);
  }
}

} // namespace

TEST_CASE("layer_normalization matches PyTorch: values and gradients, interpreter and JIT") {
  for (const fx::Case& c : fx::kCases) check_case(c);
}

TEST_CASE("layer_normalization: bad axes") {
  auto error_of = [](const std::string& layer) {
    try {
      frontend::load_model_text(R"({"input_shape": [3, 4], "layers": [)" + layer + "]}", "m.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(error_of(R"({"type": "layer_normalization", "axis": 0})").find("axis 0 is not a feature axis of f32[1,3,4]") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "layer_normalization", "axis": [1]})").find("normalises trailing axes only") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "layer_normalization", "epsilon": 0})").find("expected a positive epsilon") !=
        std::string::npos);
}
