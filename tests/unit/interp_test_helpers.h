// Helpers for the interpreter's op tests: run one op of the table on small tensors
// through a real graph (type rule, then kernel, then f32 rounding) and compare the
// result with values worked out by hand.
#pragma once

#include "error_of.h"
#include "ir/graph.h"
#include "ir/interp/interpreter.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace dlc::ir::testing {

inline Tensor f32_tensor(Shape shape, std::vector<double> values) {
  REQUIRE(int64_t(values.size()) == shape.numel());
  return Tensor(TensorType{DType::f32, std::move(shape)}, std::move(values));
}

inline Tensor i32_tensor(Shape shape, std::vector<double> values) {
  REQUIRE(int64_t(values.size()) == shape.numel());
  return Tensor(TensorType{DType::i32, std::move(shape)}, std::move(values));
}

// Builds a graph of one node `op` over inputs x0, x1, ... and evaluates it.
inline Tensor run_op(const std::string& op, const std::vector<Tensor>& operands, Attrs attrs = {},
                     const EvalContext& ctx = {}) {
  Graph g;
  Bindings b;
  std::vector<ValueId> ids;
  for (size_t i = 0; i < operands.size(); i++) {
    std::string name = "x" + std::to_string(i);
    ids.push_back(g.add_input(name, operands[i].type));
    b[name] = operands[i];
  }
  g.add_output("y", g.add(op, ids, std::move(attrs), "n"));
  return run_outputs(g, b, ctx)[0].second;
}

using dlc::error_of; // error_of.h

// Shape and every element equal `want` within a relative tolerance (f32 rounding).
inline void check_tensor(const Tensor& t, const Shape& shape, const std::vector<double>& want,
                         double eps = 1e-6) {
  REQUIRE(t.shape() == shape);
  REQUIRE(t.numel() == int64_t(want.size()));
  for (size_t i = 0; i < want.size(); i++) {
    CAPTURE(i);
    CHECK(t.data[i] == doctest::Approx(want[i]).epsilon(eps));
  }
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace dlc::ir::testing
