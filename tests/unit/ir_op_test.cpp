// The op table's checks (ir/op.cpp, ir/ops/*.cpp): operand counts, attributes and type
// rules fail with messages that name the node; types, shapes and attributes print stably.
#include "ir/graph.h"
#include "interp_test_helpers.h"

using namespace dlc::ir;
using dlc::ir::testing::contains;
using dlc::ir::testing::error_of;

namespace {
TensorType f32t(Shape s) { return {DType::f32, std::move(s)}; }
} // namespace

TEST_CASE("type rules: errors name the node and the op") {
  Graph g;
  ValueId a = g.add_input("a", f32t({2, 3}));
  ValueId b = g.add_input("b", f32t({4, 5}));
  CHECK(error_of([&] { g.add("matmul", {a, b}, {}, "dense_1"); }) ==
        "node 'dense_1' (matmul): inner dimensions differ: [2,3] · [4,5]");
  // A node without a name is named after its op.
  CHECK(error_of([&] { g.add("matmul", {a, b}); }) == "node 'matmul' (matmul): inner dimensions differ: [2,3] · [4,5]");
  CHECK(error_of([&] { g.add("add", {a, b}, {}, "res_1"); }) == "node 'res_1' (add): shapes [2,3] and [4,5] do not broadcast");
  CHECK(error_of([&] { g.add("add", {a}, {}, "res_1"); }) == "node 'res_1' (add): expects 2 operands, got 1");
  CHECK(error_of([&] { g.add("concat", {}, {{"axis", int64_t(0)}}, "cat"); }) ==
        "node 'cat' (concat): expects at least 1 operand, got 0");
  CHECK(error_of([&] { g.add("relu", {a, a}, {}, "act"); }) == "node 'act' (relu): expects 1 operand, got 2");
  CHECK(error_of([&] { g.add("relu", {a, 17}, {}, "act"); }) == "node 'act' (relu): operand %17 is not defined");
  CHECK(error_of([&] { g.add("transpose", {a}, {}, "t"); }) == "node 't' (transpose): missing attribute 'perm'");
  CHECK(error_of([&] { g.add("relu", {a}, {{"alpha", 0.1}}, "act"); }) == "node 'act' (relu): unknown attribute 'alpha'");
  CHECK(error_of([&] { g.add("leaky_relu", {a}, {{"alpha", std::string("big")}}, "act"); }) ==
        "node 'act' (leaky_relu): attribute 'alpha' should be float, is string");
  ValueId i = g.add_input("i", {DType::i32, {2}});
  CHECK(error_of([&] { g.add("sigmoid", {i}, {}, "act"); }) ==
        "node 'act' (sigmoid): operand 0 must be a float tensor, got i32[2]");
  CHECK(error_of([&] { g.add("matmull", {a, b}); }) == "unknown op 'matmull', did you mean 'matmul'?");
  // A failed add leaves the graph as it was.
  CHECK(g.nodes().empty());
  CHECK(g.values().size() == 3);
}

TEST_CASE("type rules: an int attribute is accepted where a float is declared") {
  Graph g;
  ValueId a = g.add_input("a", f32t({2}));
  ValueId y = g.add("leaky_relu", {a}, {{"alpha", int64_t(1)}});
  CHECK(g.type(y) == f32t({2}));
  CHECK(g.node(0).attrs.get_float("alpha") == 1.0);
}

TEST_CASE("broadcast_shapes follows numpy") {
  Shape out;
  REQUIRE(broadcast_shapes({2, 1, 3}, {4, 1}, out));
  CHECK(out == Shape{2, 4, 3});
  REQUIRE(broadcast_shapes({}, {3}, out));
  CHECK(out == Shape{3});
  REQUIRE(broadcast_shapes({5, 1}, {1, 1}, out));
  CHECK(out == Shape{5, 1});
  CHECK_FALSE(broadcast_shapes({2}, {3}, out));
  CHECK_FALSE(broadcast_shapes({2, 3}, {3, 3, 2}, out));
}

TEST_CASE("types: names, sizes, shapes and strides") {
  CHECK(std::string(dtype_name(DType::boolean)) == "bool");
  DType t{};
  CHECK(parse_dtype("i64", t));
  CHECK(t == DType::i64);
  CHECK_FALSE(parse_dtype("f16", t));
  CHECK(dtype_size(DType::bf16) == 2);
  CHECK(dtype_size(DType::i64) == 8);
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{}.str() == "[]");
  CHECK(TensorType{DType::i32, {100, 784}}.str() == "i32[100,784]");
  CHECK(TensorType{DType::f32, {2, 3}}.bytes() == 24);
  CHECK(strides_of(Shape{2, 3, 4}) == std::vector<int64_t>{12, 4, 1});
  CHECK(strides_of(Shape{}).empty());
}

TEST_CASE("attrs: typed access and stable text") {
  Attrs a{{"stride", std::vector<int64_t>{2, 2}}, {"axis", int64_t(1)}, {"rate", 0.5},
          {"name", std::string("x")}, {"keep", true}};
  CHECK(a.str() == "{axis=1, keep=true, name=\"x\", rate=0.5, stride=[2,2]}"); // sorted by name
  CHECK(a.get_float("axis") == 1.0);
  CHECK(a.get_int("missing", 7) == 7);
  CHECK(error_of([&] { a.get_int("rate"); }) == "attribute 'rate' should be int, is float");
  CHECK(error_of([&] { a.get_ints("nope"); }) == "missing attribute 'nope'");
  CHECK(Attrs{}.str().empty());
  // Floats print exactly (shortest round trip), not to 6 digits.
  CHECK(Attrs{{"rate", 0.1234567}, {"eps", 1e-7}, {"lr", 0.001}}.str() == "{eps=1e-07, lr=0.001, rate=0.1234567}");
}
