// What the convolution layers' PyTorch parity tests share (conv2d_transpose,
// depthwise_conv2d): a one-layer model "l" of the layer type with the case's members, run
// on a fixture case by the reference interpreter and by the JIT; its value and its
// gradients with respect to the input, the kernel and the bias (for the case's upstream
// gradient dy) must match PyTorch's. A case has members, shape ([n, h, w, c]) and x,
// kernel, bias, dy, y, dx, dkernel, dbias.
#pragma once

#include "frontend/model.h"
#include "jit_test_helpers.h"
#include "torch_parity_helpers.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <string>

namespace dlc::test_cpp {

// `kernel`: the parameter's suffix ("kernel", "depthwise_kernel").
template <class Case>
void check_conv_layer(const std::string& type, const std::string& kernel, const Case& c) {
  CAPTURE(std::string(c.members));
  std::string model = fmt::format(R"({{"input_shape": [{}, {}, {}], "layers": [{{"type": "{}", "name": "l", {}}}]}})",
                                  c.shape[1], c.shape[2], c.shape[3], type, c.members);
  ir::Graph g = frontend::build_model(frontend::load_model_text(model, "torch.json"), c.shape[0]).graph;
  g.batch = 0;
  ir::ValueId x = g.find("input"), k = g.find("l." + kernel), bias = g.find("l.bias");
  add_gradient_outputs(g, g.outputs()[0].value, c.dy, {{"dx", x}, {"dkernel", k}, {"dbias", bias}});
  ir::Bindings b = {{"input", ir::Tensor(g.type(x), c.x)}, {"l." + kernel, ir::Tensor(g.type(k), c.kernel)},
                    {"l.bias", ir::Tensor(g.type(bias), c.bias)}};
  auto want = ir::run_outputs(g, b);
  auto got = run_jit(g, b);
  const std::vector<double>* expected[] = {&c.y, &c.dx, &c.dkernel, &c.dbias};
  const char* names[] = {"y", "dx", "dkernel", "dbias"};
  REQUIRE(want.size() == 4);
  REQUIRE(got.size() == 4);
  for (size_t i = 0; i < 4; i++) {
    check_close(want[i].second.data, *expected[i], std::string("interpreter ") + names[i], 2e-5);
    check_close(as_double(got[i]), *expected[i], std::string("jit ") + names[i], 2e-5);
  }
}

} // namespace dlc::test_cpp
