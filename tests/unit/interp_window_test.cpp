// Reference kernels of conv2d, max_pool2d and avg_pool2d (ir/interp/eval_window.cpp):
// NHWC activations, HWIO filters, pads = [top, bottom, left, right].
#include "interp_test_helpers.h"

using namespace dlc::ir;
using namespace dlc::ir::testing;

namespace {

using Ints = std::vector<int64_t>;

Attrs window_attrs(Ints strides, Ints pads) { return {{"strides", strides}, {"pads", pads}}; }
Attrs pool_attrs(Ints window, Ints strides, Ints pads) {
  return {{"window", window}, {"strides", strides}, {"pads", pads}};
}

// The image of issue 2, rows 100001 010010 001100 100010 010010 001010, as [1,6,6,1].
Tensor example_image() {
  const char* rows[] = {"100001", "010010", "001100", "100010", "010010", "001010"};
  std::vector<double> v;
  for (const char* r : rows)
    for (int j = 0; j < 6; j++) v.push_back(r[j] == '1' ? 1 : 0);
  return f32_tensor({1, 6, 6, 1}, v);
}

// The diagonal filter [[1,-1,-1],[-1,1,-1],[-1,-1,1]] as HWIO [3,3,1,1].
Tensor example_filter() { return f32_tensor({3, 3, 1, 1}, {1, -1, -1, -1, 1, -1, -1, -1, 1}); }

const std::vector<double> kExampleValid = {3, -1, -3, -1, -3, 1, 0, -3, -3, -3, 0, 1, 3, -2, -2, -1};

} // namespace

TEST_CASE("interp: the convolution example of issue 2") {
  // Stride 1, no padding: floor((6 - 3) / 1) + 1 = 4. Top-left: the filter's diagonal
  // meets the image's 1s at (0,0), (1,1), (2,2) -> 3, and no off-diagonal 1s -> 3.
  Tensor conv = run_op("conv2d", {example_image(), example_filter()}, window_attrs({1, 1}, {0, 0, 0, 0}));
  check_tensor(conv, {1, 4, 4, 1}, kExampleValid);
  // 2x2 max pooling of that: max(3,-1,-3,1)=3, max(-3,-1,0,-3)=0, max(-3,-3,3,-2)=3, max(0,1,-2,-1)=1.
  check_tensor(run_op("max_pool2d", {conv}, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0})), {1, 2, 2, 1},
               {3, 0, 3, 1});
  // Stride 2: floor((6 - 3) / 2) + 1 = 2, the stride-1 results at rows and columns 0 and 2.
  check_tensor(run_op("conv2d", {example_image(), example_filter()}, window_attrs({2, 2}, {0, 0, 0, 0})),
               {1, 2, 2, 1}, {3, -3, -3, 0});
}

TEST_CASE("interp: the convolution example with same padding keeps 6x6") {
  // One zero row/column on each side: floor((6 + 2 - 3) / 1) + 1 = 6. The inner 4x4 is the
  // unpadded result; e.g. the corner (0,0) sees x[0][0] = 1 and x[1][1] = 1 on the
  // diagonal, the rest is zero padding or 0 pixels -> 2.
  Tensor same = run_op("conv2d", {example_image(), example_filter()}, window_attrs({1, 1}, {1, 1, 1, 1}));
  check_tensor(same, {1, 6, 6, 1},
               {2,  -2, -1, 1,  -2, 0,  //
                -2, 3,  -1, -3, -1, -2, //
                -2, -3, 1,  0,  -3, 0,  //
                2,  -3, -3, 0,  1,  -2, //
                -2, 3,  -2, -2, -1, -1, //
                -1, -2, 2,  -3, 0,  0});
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) CHECK(same[(y + 1) * 6 + x + 1] == kExampleValid[size_t(y * 4 + x)]);
}

TEST_CASE("interp: conv2d output extent is floor((n + 2p - f) / s) + 1") {
  struct Case {
    int64_t n, p, f, s, out;
  };
  // Worked by hand: e.g. (7 + 2 - 3) / 2 = 3, + 1 = 4.
  for (Case c : {Case{6, 0, 3, 1, 4}, Case{6, 0, 3, 2, 2}, Case{6, 1, 3, 1, 6}, Case{7, 0, 3, 2, 3},
                 Case{7, 1, 3, 2, 4}, Case{28, 2, 5, 1, 28}, Case{5, 0, 5, 1, 1}, Case{10, 0, 3, 3, 3},
                 Case{9, 1, 4, 2, 4}, Case{4, 3, 2, 5, 2}}) {
    CAPTURE(c.n);
    CAPTURE(c.p);
    CAPTURE(c.f);
    CAPTURE(c.s);
    Graph g;
    ValueId x = g.add_input("x", {DType::f32, {1, c.n, c.n, 3}});
    ValueId w = g.add_input("w", {DType::f32, {c.f, c.f, 3, 5}});
    ValueId y = g.add("conv2d", {x, w}, window_attrs({c.s, c.s}, {c.p, c.p, c.p, c.p}));
    CHECK(g.type(y).shape == Shape{1, c.out, c.out, 5});
    ValueId m = g.add("max_pool2d", {x}, pool_attrs({c.f, c.f}, {c.s, c.s}, {0, 0, 0, 0}));
    CHECK(g.type(m).shape[1] == (c.n - c.f) / c.s + 1);
  }
  // Each axis on its own: 6x8 input, 3x3 filter, strides [1,2] -> [4, floor(5/2)+1 = 3].
  Graph g;
  ValueId x = g.add_input("x", {DType::f32, {2, 6, 8, 1}});
  ValueId w = g.add_input("w", {DType::f32, {3, 3, 1, 1}});
  CHECK(g.type(g.add("conv2d", {x, w}, window_attrs({1, 2}, {0, 0, 0, 0}))).shape == Shape{2, 4, 3, 1});
  ValueId big = g.add_input("big", {DType::f32, {9, 9, 1, 1}});
  CHECK(error_of([&] { g.add("conv2d", {x, big}, window_attrs({1, 1}, {0, 0, 0, 0}), "conv_1"); }) ==
        "node 'conv_1' (conv2d): window 9 is larger than the padded height extent 6 of the input");
  ValueId w2 = g.add_input("w2", {DType::f32, {3, 3, 2, 1}});
  CHECK(contains(error_of([&] { g.add("conv2d", {x, w2}, window_attrs({1, 1}, {0, 0, 0, 0}), "conv_2"); }),
                 "node 'conv_2' (conv2d): filter expects 2 input channels, input [2,6,8,1] has 1"));
}

TEST_CASE("interp: conv2d with explicit asymmetric padding") {
  // x = [[1,2],[3,4]], a 2x2 filter of ones, pads top 1, bottom 0, left 0, right 1:
  //   padded  0 0 0      out[0][0] = 0+0+1+2 = 3   out[0][1] = 0+0+2+0 = 2
  //           1 2 0      out[1][0] = 1+2+3+4 = 10  out[1][1] = 2+0+4+0 = 6
  //           3 4 0
  check_tensor(run_op("conv2d", {f32_tensor({1, 2, 2, 1}, {1, 2, 3, 4}), f32_tensor({2, 2, 1, 1}, {1, 1, 1, 1})},
                      window_attrs({1, 1}, {1, 0, 0, 1})),
               {1, 2, 2, 1}, {3, 2, 10, 6});
}

TEST_CASE("interp: conv2d over several input and output channels") {
  // 1x1 filter mixing 2 channels into 3: w[0][0][c][f] = [[1,0,1],[0,1,1]], so each pixel
  // [a,b] becomes [a, b, a+b].
  Tensor x = f32_tensor({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  check_tensor(run_op("conv2d", {x, f32_tensor({1, 1, 2, 3}, {1, 0, 1, 0, 1, 1})}, window_attrs({1, 1}, {0, 0, 0, 0})),
               {1, 2, 2, 3}, {1, 2, 3, 3, 4, 7, 5, 6, 11, 7, 8, 15});
  // 2x2 filter, 2 in, 2 out, HWIO flat index ((i*2+j)*2+c)*2+f. Filter 0 is all ones: the
  // sum of x = 36. Filter 1 weighs channel 0 of pixel (i,j) by 2i+j+1 and channel 1 of
  // pixel (0,0) by 10: 1*1 + 2*3 + 3*5 + 4*7 + 10*2 = 70.
  Tensor w = f32_tensor({2, 2, 2, 2}, {1, 1, 1, 10, 1, 2, 1, 0, 1, 3, 1, 0, 1, 4, 1, 0});
  check_tensor(run_op("conv2d", {x, w}, window_attrs({1, 1}, {0, 0, 0, 0})), {1, 1, 1, 2}, {36, 70});
  // A batch of two: the second sample is the first negated, so its output is too.
  std::vector<double> two = x.data;
  for (double v : x.data) two.push_back(-v);
  check_tensor(run_op("conv2d", {f32_tensor({2, 2, 2, 2}, two), w}, window_attrs({1, 1}, {0, 0, 0, 0})),
               {2, 1, 1, 2}, {36, 70, -36, -70});
}

TEST_CASE("interp: max_pool2d ignores padding, per channel") {
  // x = [[-4,-3],[-2,-1]], window 2, stride 1, pads top 1 and left 1: each window's real
  // elements are {-4}, {-4,-3}, {-4,-2}, all four; padding (were it 0) would win.
  check_tensor(run_op("max_pool2d", {f32_tensor({1, 2, 2, 1}, {-4, -3, -2, -1})},
                      pool_attrs({2, 2}, {1, 1}, {1, 0, 1, 0})),
               {1, 2, 2, 1}, {-4, -3, -2, -1});
  // Two channels interleaved (NHWC): channel 0 = 1,2,3,4 and channel 1 = 8,7,6,5.
  check_tensor(run_op("max_pool2d", {f32_tensor({1, 2, 2, 2}, {1, 8, 2, 7, 3, 6, 4, 5})},
                      pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0})),
               {1, 1, 1, 2}, {4, 8});
}

TEST_CASE("interp: avg_pool2d divides by the number of real elements") {
  // x = [[1,2,3],[4,5,6],[7,8,9]], window 2, stride 2, pads bottom 1 and right 1:
  // (1+2+4+5)/4 = 3, (3+6)/2 = 4.5, (7+8)/2 = 7.5, 9/1 = 9.
  check_tensor(run_op("avg_pool2d", {f32_tensor({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9})},
                      pool_attrs({2, 2}, {2, 2}, {0, 1, 0, 1})),
               {1, 2, 2, 1}, {3, 4.5, 7.5, 9});
  check_tensor(run_op("avg_pool2d", {f32_tensor({1, 2, 2, 2}, {1, 8, 2, 7, 3, 6, 4, 5})},
                      pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0})),
               {1, 1, 1, 2}, {2.5, 6.5});
  CHECK(contains(error_of([] {
                   run_op("avg_pool2d", {f32_tensor({1, 2, 2, 1}, {1, 2, 3, 4})}, pool_attrs({2, 2}, {1, 1}, {2, 0, 0, 0}));
                 }),
                 "node 'n' (avg_pool2d): padding must be smaller than the window"));
}
