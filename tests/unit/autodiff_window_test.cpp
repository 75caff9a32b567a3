// Gradient checks of conv2d (strided, padded, asymmetric) and pooling, and the tie rule
// of max pooling.
#include "autodiff_test_helpers.h"

using namespace dlc;
using namespace dlc::testing;

namespace {
using Ints = std::vector<int64_t>;

struct ConvCase {
  Shape x, w;
  Ints strides, pads;
};
} // namespace

TEST_CASE("autodiff: conv2d in input and filter, strided and padded") {
  for (ConvCase k : {ConvCase{{2, 5, 6, 3}, {3, 2, 3, 4}, {1, 1}, {0, 0, 0, 0}},
                     ConvCase{{1, 6, 6, 2}, {3, 3, 2, 3}, {2, 2}, {0, 0, 0, 0}}, // last row/column unused
                     ConvCase{{2, 5, 5, 1}, {3, 3, 1, 2}, {2, 1}, {1, 1, 2, 0}},
                     ConvCase{{1, 4, 4, 2}, {5, 5, 2, 2}, {1, 1}, {2, 2, 2, 2}}}) { // "same"
    CAPTURE(k.x.str());
    CAPTURE(k.w.str());
    GradCase c;
    ValueId x = c.input("x", k.x);
    ValueId w = c.input("w", k.w);
    c.expect_match(c.g.add("conv2d", {x, w}, {{"strides", k.strides}, {"pads", k.pads}}));
  }
}

TEST_CASE("autodiff: a strided conv2d gives 0 to input rows no window reads") {
  GradCase c;
  ValueId x = c.input("x", {1, 4, 1, 1});
  ValueId w = c.input("w", {1, 1, 1, 1}, {2.0}, false);
  ValueId y = c.g.add("conv2d", {x, w}, {{"strides", Ints{3, 1}}, {"pads", Ints{0, 0, 0, 0}}});
  Tensor d = c.gradients(c.g.add("reduce_sum", {y}))[0];
  CHECK(d.data == std::vector<double>{2, 0, 0, 2});
}

TEST_CASE("autodiff: max and average pooling, overlapping and padded windows") {
  for (const char* op : {"max_pool2d", "avg_pool2d"})
    for (auto [win, strides, pads] : {std::tuple{Ints{2, 2}, Ints{2, 2}, Ints{0, 0, 0, 0}},
                                      std::tuple{Ints{3, 3}, Ints{2, 2}, Ints{1, 1, 1, 1}},
                                      std::tuple{Ints{2, 3}, Ints{1, 2}, Ints{0, 1, 2, 0}}}) {
      CAPTURE(op);
      CAPTURE(win[0]);
      GradCase c;
      ValueId x = c.input("x", {2, 5, 6, 3});
      c.expect_match(c.g.add(op, {x}, {{"window", win}, {"strides", strides}, {"pads", pads}}));
    }
}

TEST_CASE("autodiff: max pooling gives a tie's gradient to the first maximum in window order") {
  GradCase c;
  // One 2x2 window of equal values, one with its maximum twice (positions 1 and 2).
  ValueId x = c.input("x", {1, 2, 4, 1}, {3, 3, 1, 4, 3, 3, 4, 0});
  ValueId y = c.g.add("max_pool2d", {x}, {{"window", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"pads", Ints{0, 0, 0, 0}}});
  Tensor d = c.gradients(c.g.add("reduce_sum", {y}))[0];
  CHECK(d.data == std::vector<double>{1, 0, 0, 1, 0, 0, 0, 0});
}

TEST_CASE("autodiff: average pooling shares a padded window's gradient among real elements") {
  GradCase c;
  ValueId x = c.input("x", {1, 2, 2, 1}, {1, 2, 3, 4});
  // One 3x3 window over the 2x2 input padded by one on top and left: 4 real elements.
  ValueId y = c.g.add("avg_pool2d", {x}, {{"window", Ints{3, 3}}, {"strides", Ints{1, 1}}, {"pads", Ints{1, 0, 1, 0}}});
  Tensor d = c.gradients(c.g.add("reduce_sum", {y}))[0];
  CHECK(d.data == std::vector<double>{0.25, 0.25, 0.25, 0.25});
}
