// The printer (ir/printer.cpp) on a graph with every kind of value. Whole example models
// are compared in tests/cli/golden_graph.sh against tests/golden/graph/*.txt.
#include "ir/printer.h"

#include <doctest/doctest.h>

using namespace dlc::ir;

TEST_CASE("printer: every kind of value, attributes, updates and outputs") {
  Graph g;
  g.name = "tiny";
  ValueId x = g.add_input("x", {DType::f32, {2, 2}});
  ValueId labels = g.add_input("labels", {DType::i32, {2}});
  Initializer he;
  he.kind = "he_normal";
  ValueId w = g.add_param("w", {DType::f32, {2, 2}}, he);
  Initializer half;
  half.kind = "constant";
  half.value = 0.5;
  g.add_param("frozen_scale", {DType::f32, {2}}, half, false);
  ValueId m = g.add_state("w.m", {DType::f32, {2, 2}}, {});
  ValueId c = g.add_constant("c", {DType::f32, {2}}, {1.5f, -2});
  g.add_constant("big", {DType::f32, {9}}, std::vector<float>(9, 0.0f)); // data not printed
  ValueId y = g.add("matmul", {x, w}, {{"transpose_b", true}}, "dense");
  ValueId z = g.add("add", {y, c}, {}, "dense");  // a second 'dense' gets a suffix
  ValueId loss = g.add("sparse_softmax_cross_entropy", {z, labels}, {}, "loss");
  g.add_update(w, m);
  g.add_output("loss", loss);
  CHECK(print_graph(g) ==
        "graph tiny {\n"
        "  input %x: f32[2,2]\n"
        "  input %labels: i32[2]\n"
        "  param %w: f32[2,2] = he_normal\n"
        "  param %frozen_scale: f32[2] = constant(0.5) frozen\n"
        "  state %w.m: f32[2,2] = zeros\n"
        "  const %c: f32[2] = [1.5, -2]\n"
        "  const %big: f32[9]\n"
        "  %dense = matmul(%x, %w) {transpose_b=true} : f32[2,2]\n"
        "  %dense.1 = add(%dense, %c) : f32[2,2]\n"
        "  %loss = sparse_softmax_cross_entropy(%dense.1, %labels) : f32[]\n"
        "  update %w <- %w.m\n"
        "  output loss = %loss\n"
        "}\n");
}
