// Reference kernels of the losses (ir/interp/eval_loss.cpp): scalar means over the batch.
#include "interp_test_helpers.h"

#include <cmath>

using namespace dlc::ir;
using namespace dlc::ir::testing;

namespace {
double scalar(const Tensor& t) {
  REQUIRE(t.shape() == Shape{});
  return t[0];
}
} // namespace

TEST_CASE("interp: mse") {
  // Differences 0, 2, 0, -2: (0 + 4 + 0 + 4) / 4 = 2.
  CHECK(scalar(run_op("mse", {f32_tensor({2, 2}, {1, 2, 3, 4}), f32_tensor({2, 2}, {1, 0, 3, 6})})) == 2);
  CHECK(error_of([] { run_op("mse", {f32_tensor({2}, {1, 2}), f32_tensor({3}, {1, 2, 3})}); }) ==
        "node 'n' (mse): prediction f32[2] and target f32[3] differ in shape");
}

TEST_CASE("interp: softmax_cross_entropy from logits, stable at 1000") {
  // Row 0: -log softmax([1,2,3])[2] = 0.407606. Row 1: equal logits of 1000 -> log 3 =
  // 1.098612 (a naive exp(1000) would overflow). Mean 0.753109.
  Tensor z = f32_tensor({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  Tensor y = f32_tensor({2, 3}, {0, 0, 1, 1, 0, 0});
  CHECK(scalar(run_op("softmax_cross_entropy", {z, y})) == doctest::Approx(0.7531091265562451));
  // Probability targets: equal logits, y = [0.25, 0.75] -> -(0.25 + 0.75) log 0.5 = log 2.
  CHECK(scalar(run_op("softmax_cross_entropy", {f32_tensor({1, 2}, {0, 0}), f32_tensor({1, 2}, {0.25, 0.75})})) ==
        doctest::Approx(0.6931471805599453));
  // A confident wrong answer: z = [1000, 0], y = [0, 1] -> 1000, finite.
  CHECK(scalar(run_op("softmax_cross_entropy", {f32_tensor({1, 2}, {1000, 0}), f32_tensor({1, 2}, {0, 1})})) ==
        doctest::Approx(1000));
}

TEST_CASE("interp: sparse_softmax_cross_entropy equals the one-hot form") {
  Tensor z = f32_tensor({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  CHECK(scalar(run_op("sparse_softmax_cross_entropy", {z, i32_tensor({2}, {2, 0})})) ==
        doctest::Approx(0.7531091265562451));
  CHECK(error_of([&] { run_op("sparse_softmax_cross_entropy", {z, i32_tensor({2}, {3, 0})}); }) ==
        "node 'n' (sparse_softmax_cross_entropy): index 3 at position 0 is outside [0, 3)");
  CHECK(contains(error_of([&] { run_op("sparse_softmax_cross_entropy", {z, i32_tensor({2}, {0, -1})}); }),
                 "index -1 at position 1 is outside [0, 3)"));
  CHECK(contains(error_of([&] { run_op("sparse_softmax_cross_entropy", {z, f32_tensor({2}, {0, 1})}); }),
                 "labels must be integers of shape [2], got f32[2]"));
  CHECK(contains(error_of([&] { run_op("sparse_softmax_cross_entropy", {z, i32_tensor({3}, {0, 1, 2})}); }),
                 "labels must be integers of shape [2], got i32[3]"));
}

TEST_CASE("interp: binary_cross_entropy clamps probabilities") {
  // -(log 0.9 + log 0.8) / 2 = (0.105361 + 0.223144) / 2 = 0.164252.
  CHECK(scalar(run_op("binary_cross_entropy", {f32_tensor({2}, {0.9, 0.2}), f32_tensor({2}, {1, 0})})) ==
        doctest::Approx(0.164252033486018));
  // Certain and wrong: p is clamped to [1e-7, 1 - 1e-7], each term -log(1e-7) = 16.118096.
  CHECK(scalar(run_op("binary_cross_entropy", {f32_tensor({2}, {1, 0}), f32_tensor({2}, {0, 1})})) ==
        doctest::Approx(16.11809565095832).epsilon(1e-5));
  CHECK(scalar(run_op("binary_cross_entropy", {f32_tensor({2}, {1, 0}), f32_tensor({2}, {1, 0})})) ==
        doctest::Approx(0).epsilon(1e-6));
}

TEST_CASE("interp: sigmoid_binary_cross_entropy from logits, finite at +-100") {
  // max(z,0) - z*y + log(1 + e^-|z|): z=0,y=1 -> log 2; z=100,y=0 -> 100; z=-100,y=0 ->
  // ~3.7e-44. Mean (0.693147 + 100) / 3 = 33.564382.
  CHECK(scalar(run_op("sigmoid_binary_cross_entropy", {f32_tensor({3}, {0, 100, -100}), f32_tensor({3}, {1, 0, 0})})) ==
        doctest::Approx(33.564382393519985));
  // The right answers at +-100 cost ~0; the wrong ones 100 each.
  CHECK(scalar(run_op("sigmoid_binary_cross_entropy", {f32_tensor({2}, {100, -100}), f32_tensor({2}, {1, 0})})) ==
        doctest::Approx(0));
  CHECK(scalar(run_op("sigmoid_binary_cross_entropy", {f32_tensor({2}, {-100, 100}), f32_tensor({2}, {1, 0})})) ==
        doctest::Approx(100));
  // Agrees with binary_cross_entropy of sigmoid(2) = 0.880797: log(1 + e^-2) = 0.126928.
  CHECK(scalar(run_op("sigmoid_binary_cross_entropy", {f32_tensor({1}, {2}), f32_tensor({1}, {1})})) ==
        doctest::Approx(0.1269280110429725));
  CHECK(scalar(run_op("binary_cross_entropy", {f32_tensor({1}, {0.8807970779778823}), f32_tensor({1}, {1})})) ==
        doctest::Approx(0.1269280110429725).epsilon(1e-5));
}
