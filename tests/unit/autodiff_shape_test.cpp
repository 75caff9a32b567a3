// Gradient checks of matmul (all transposes), transpose, the data-movement ops,
// reductions, softmax and log_softmax.
#include "autodiff_test_helpers.h"

using namespace dlc;
using namespace dlc::testing;

TEST_CASE("autodiff: matmul with every combination of transposes") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      GradCase c;
      ValueId a = c.input("a", ta ? Shape{4, 3} : Shape{3, 4});
      ValueId b = c.input("b", tb ? Shape{5, 4} : Shape{4, 5});
      ir::Attrs at;
      if (ta) at.set("transpose_a", true);
      if (tb) at.set("transpose_b", true);
      c.expect_match(c.g.add("matmul", {a, b}, at));
    }
}

TEST_CASE("autodiff: matmul of a value with itself sums both uses") {
  GradCase c;
  ValueId a = c.input("a", {3, 3});
  c.expect_match(c.g.add("matmul", {a, a}, {{"transpose_b", true}}));
}

TEST_CASE("autodiff: transpose, flatten, reshape") {
  GradCase c;
  ValueId x = c.input("x", {2, 3, 4});
  SUBCASE("transpose") { c.expect_match(c.g.add("transpose", {x}, {{"perm", std::vector<int64_t>{2, 0, 1}}})); }
  SUBCASE("flatten") { c.expect_match(c.g.add("flatten", {x})); }
  SUBCASE("reshape") { c.expect_match(c.g.add("reshape", {x}, {{"shape", std::vector<int64_t>{4, 6}}})); }
}

TEST_CASE("autodiff: concat slices the gradient for each operand") {
  for (int64_t axis : {0, 1, -1}) {
    CAPTURE(axis);
    GradCase c;
    Shape sa{2, 3}, sb{2, 3}, sc{2, 3};
    int ax = int(axis < 0 ? axis + 2 : axis);
    sa[ax] = 1;
    sc[ax] = 2;
    ValueId a = c.input("a", sa), b = c.input("b", sb), k = c.input("k", sc, {}, false);
    c.expect_match(c.g.add("concat", {a, b, k, a}, {{"axis", axis}}));
  }
}

TEST_CASE("autodiff: maxout routes the gradient to each group's maximum") {
  GradCase c;
  ValueId x = c.input("x", {2, 3, 6});
  c.expect_match(c.g.add("maxout", {x}, {{"k", int64_t(3)}}));
}

TEST_CASE("autodiff: maxout and reduce_max give a tie's gradient to the first maximum") {
  GradCase c;
  ValueId x = c.input("x", {1, 4}, {2.0, 5.0, 5.0, 1.0});
  ValueId m = c.g.add("maxout", {x}, {{"k", int64_t(4)}});
  ValueId r = c.g.add("reduce_max", {x}, {{"axes", std::vector<int64_t>{1}}});
  Tensor d = c.gradients(c.g.add("add", {c.g.add("reduce_sum", {m}), c.g.add("reduce_sum", {r})}))[0];
  CHECK(d.data == std::vector<double>{0, 2, 0, 0});
}

TEST_CASE("autodiff: broadcast_to and reduce_to_shape are each other's gradient") {
  GradCase c;
  ValueId x = c.input("x", {3, 1});
  ValueId y = c.g.add("broadcast_to", {x}, {{"shape", std::vector<int64_t>{2, 3, 4}}});
  c.expect_match(c.g.add("reduce_to_shape", {c.g.add("square", {y})}, {{"shape", std::vector<int64_t>{3, 4}}}));
}

TEST_CASE("autodiff: reductions over axes, with and without keepdims") {
  struct Case {
    std::vector<int64_t> axes;
    bool all, keep;
  };
  for (const char* op : {"reduce_sum", "reduce_mean", "reduce_max"})
    for (Case k : {Case{{}, true, false}, Case{{}, true, true}, Case{{1}, false, false},
                   Case{{0, 2}, false, true}, Case{{-1}, false, false}}) {
      CAPTURE(op);
      CAPTURE(k.keep);
      GradCase c;
      ValueId x = c.input("x", {2, 3, 4});
      ir::Attrs a;
      if (!k.all) a.set("axes", k.axes);
      if (k.keep) a.set("keepdims", true);
      c.expect_match(c.g.add(op, {x}, a));
    }
}

TEST_CASE("autodiff: softmax and log_softmax along any axis") {
  for (const char* op : {"softmax", "log_softmax"})
    for (int64_t axis : {-1, 0, 1}) {
      CAPTURE(op);
      CAPTURE(axis);
      GradCase c;
      ValueId x = c.input("x", {3, 4, 2});
      c.expect_match(c.g.add(op, {x}, {{"axis", axis}}));
    }
}

TEST_CASE("autodiff: slice and slice_grad; slices that cover an axis are joined by one concat") {
  auto slice = [](GradCase& c, ValueId x, int64_t begin, int64_t size) {
    return c.g.add("slice", {x}, {{"axis", int64_t(1)}, {"begin", begin}, {"size", size}});
  };
  SUBCASE("overlapping slices: summed") {
    GradCase c;
    ValueId x = c.input("x", {2, 5});
    ValueId a = slice(c, x, 0, 3), b = slice(c, x, 2, 3);
    c.expect_match(c.g.add("mul", {a, b}));
  }
  SUBCASE("slices covering the axis once: one concat") {
    GradCase c;
    ValueId x = c.input("x", {2, 5});
    ValueId a = slice(c, x, 3, 2), b = slice(c, x, 0, 3);
    ValueId y = c.g.add("mul", {a, c.g.add("tanh", {slice(c, b, 1, 2)})});
    ValueId loss = c.weighted_sum(y);
    c.expect_match(loss);
    ir::Graph g = c.g;
    passes::differentiate(g, loss, c.wrt);
    int joins = 0;
    for (auto& n : g.nodes()) joins += n.name == "x.grad_join";
    CHECK(joins == 1);
  }
  SUBCASE("slice_grad") {
    GradCase c;
    ValueId x = c.input("x", {2, 2});
    c.expect_match(c.g.add("slice_grad", {x}, {{"axis", int64_t(1)}, {"begin", int64_t(1)}, {"extent", int64_t(4)}}));
  }
}
