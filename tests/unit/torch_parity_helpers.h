// What the PyTorch parity tests share (activations, global pooling, layer normalisation):
// the upstream-gradient loss whose input gradients the fixtures hold, and the comparison.
#pragma once

#include "ir/graph.h"
#include "passes/autodiff.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

namespace dlc::test_cpp {

// Appends loss = sum(y * dy), dy a constant of y's type, and for each (name, value) of
// `wrt` an output `name` holding d loss / d value: the gradients PyTorch's backward gives
// for an upstream gradient dy.
inline void add_gradient_outputs(ir::Graph& g, ir::ValueId y, const std::vector<double>& dy,
                                 const std::vector<std::pair<std::string, ir::ValueId>>& wrt) {
  ir::ValueId dy_value = g.add_constant("dy", g.type(y), std::vector<float>(dy.begin(), dy.end()));
  ir::ValueId loss = g.add("reduce_sum", {g.add("mul", {y, dy_value})});
  std::vector<ir::ValueId> values;
  for (auto& w : wrt) values.push_back(w.second);
  std::vector<ir::ValueId> grads = passes::differentiate(g, loss, values);
  for (size_t i = 0; i < wrt.size(); i++) g.add_output(wrt[i].first, grads[i]);
}

inline void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what,
                        double epsilon) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    INFO(what, "[", i, "]");
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(epsilon).scale(1));
  }
}

inline std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

} // namespace dlc::test_cpp
