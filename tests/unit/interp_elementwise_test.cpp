// Reference kernels of the element-wise ops (ir/interp/eval_elementwise.cpp) against
// values worked out by hand.
#include "interp_test_helpers.h"

#include <cmath>

using namespace dlc::ir;
using namespace dlc::ir::testing;

TEST_CASE("interp: sigmoid, tanh, relu, leaky_relu") {
  // sigmoid(2) = 1/(1+e^-2) = 0.880797; sigmoid(-2) = 1 - sigmoid(2).
  check_tensor(run_op("sigmoid", {f32_tensor({5}, {0, 2, -2, 1000, -1000})}), {5},
               {0.5, 0.8807970779778823, 0.11920292202211755, 1, 0});
  check_tensor(run_op("tanh", {f32_tensor({3}, {0.5, -1, 0})}), {3},
               {0.46211715726000974, -0.7615941559557649, 0});
  check_tensor(run_op("relu", {f32_tensor({2, 2}, {-1, 0, 2, -0.5})}), {2, 2}, {0, 0, 2, 0});
  check_tensor(run_op("leaky_relu", {f32_tensor({3}, {-2, 3, 0})}, {{"alpha", 0.1}}), {3},
               {-0.2, 3, 0});
}

TEST_CASE("interp: softplus is log(1 + e^x), exact for large |x|") {
  // ln 2; ln(1+e) = 1.313262; ln(1+1/e) = 0.313262; for x = -50 the naive formula
  // rounds 1 + e^-50 to 1 and returns 0, the stable one log1p(e^-50) = 1.92875e-22.
  check_tensor(run_op("softplus", {f32_tensor({7}, {0, 1, -1, 50, -50, 1000, -1000})}), {7},
               {0.6931471805599453, 1.3132616875182228, 0.31326168751822286, 50,
                1.9287498479639178e-22, 1000, 0});
}

TEST_CASE("interp: the other unary ops of the table") {
  check_tensor(run_op("exp", {f32_tensor({2}, {1, 0})}), {2}, {2.718281828459045, 1});
  check_tensor(run_op("log", {f32_tensor({2}, {2, 1})}), {2}, {0.6931471805599453, 0});
  check_tensor(run_op("neg", {f32_tensor({2}, {1.5, -2})}), {2}, {-1.5, 2});
  check_tensor(run_op("sqrt", {f32_tensor({2}, {2.25, 0})}), {2}, {1.5, 0});
  check_tensor(run_op("square", {f32_tensor({2}, {-3, 0.5})}), {2}, {9, 0.25});
  check_tensor(run_op("abs", {f32_tensor({2}, {-2.5, 2})}), {2}, {2.5, 2});
  check_tensor(run_op("sign", {f32_tensor({3}, {-3, 0, 0.1})}), {3}, {-1, 0, 1});
  check_tensor(run_op("scale", {f32_tensor({2}, {1, -1})}, {{"scale", 2.0}, {"offset", 1.0}}), {2},
               {3, -1});
  check_tensor(run_op("scale", {f32_tensor({2}, {1, -1})}, {{"scale", 2.0}}), {2}, {2, -2});
}

TEST_CASE("interp: broadcasting add, sub, mul, div, maximum, minimum") {
  // Same shapes.
  check_tensor(run_op("add", {f32_tensor({2}, {1, 2}), f32_tensor({2}, {10, 20})}), {2}, {11, 22});
  // Rank-extending: [3] acts as [1,3] against [2,3].
  check_tensor(run_op("add", {f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6}), f32_tensor({3}, {10, 20, 30})}),
               {2, 3}, {11, 22, 33, 14, 25, 36});
  // Both sides broadcast: [2,1] - [1,3] -> [2,3], out[i][j] = a[i] - b[j].
  check_tensor(run_op("sub", {f32_tensor({2, 1}, {1, 2}), f32_tensor({1, 3}, {10, 20, 30})}), {2, 3},
               {-9, -19, -29, -8, -18, -28});
  // Both sides and rank-extending: [3,1] * [2] -> [3,2], out[i][j] = a[i] * b[j].
  check_tensor(run_op("mul", {f32_tensor({3, 1}, {1, 2, 3}), f32_tensor({2}, {10, 100})}), {3, 2},
               {10, 100, 20, 200, 30, 300});
  // [2,1,2] + [3,1] -> [2,3,2], out[i][j][k] = a[i][0][k] + b[j][0].
  check_tensor(run_op("add", {f32_tensor({2, 1, 2}, {1, 2, 3, 4}), f32_tensor({3, 1}, {10, 20, 30})}),
               {2, 3, 2}, {11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34});
  // Scalars on either side.
  check_tensor(run_op("div", {f32_tensor({2, 2}, {1, 2, 3, 4}), f32_tensor({}, {2})}), {2, 2},
               {0.5, 1, 1.5, 2});
  check_tensor(run_op("div", {f32_tensor({}, {1}), f32_tensor({2}, {4, 8})}), {2}, {0.25, 0.125});
  check_tensor(run_op("maximum", {f32_tensor({2, 2}, {-1, 2, 3, -4}), f32_tensor({}, {0})}), {2, 2},
               {0, 2, 3, 0});
  check_tensor(run_op("minimum", {f32_tensor({2}, {1, 5}), f32_tensor({2}, {3, 2})}), {2}, {1, 2});
}

TEST_CASE("interp: broadcasting type errors name the node") {
  CHECK(error_of([] { run_op("add", {f32_tensor({2, 3}, std::vector<double>(6)), f32_tensor({2}, {0, 0})}); }) ==
        "node 'n' (add): shapes [2,3] and [2] do not broadcast");
  CHECK(contains(error_of([] { run_op("mul", {f32_tensor({2}, {0, 0}), i32_tensor({2}, {0, 0})}); }),
                 "node 'n' (mul): operand types differ: f32[2] and i32[2]"));
}

TEST_CASE("interp: bias_add adds b[c] along the last axis") {
  check_tensor(run_op("bias_add", {f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6}), f32_tensor({3}, {10, 20, 30})}),
               {2, 3}, {11, 22, 33, 14, 25, 36});
  // NHWC [1,2,2,2]: channel 0 gets 100, channel 1 gets 200, at every pixel.
  check_tensor(run_op("bias_add", {f32_tensor({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
                                   f32_tensor({2}, {100, 200})}),
               {1, 2, 2, 2}, {101, 202, 103, 204, 105, 206, 107, 208});
  CHECK(contains(error_of([] {
                   run_op("bias_add", {f32_tensor({1, 3}, {1, 2, 3}), f32_tensor({2}, {1, 2})});
                 }),
                 "node 'n' (bias_add): bias has 2 elements, the last axis of f32[1,3] has 3"));
}

TEST_CASE("interp: prelu uses a learned slope per channel") {
  // slope [0.5, 0.25]: -1 -> -0.5 (channel 0), -3 -> -1.5 (channel 0), -4 -> -1 (channel 1).
  check_tensor(run_op("prelu", {f32_tensor({2, 2}, {-1, 2, -3, -4}), f32_tensor({2}, {0.5, 0.25})}), {2, 2},
               {-0.5, 2, -1.5, -1});
  CHECK(contains(error_of([] { run_op("prelu", {f32_tensor({1, 2}, {1, 2}), f32_tensor({3}, {1, 2, 3})}); }),
                 "slope has 3 elements"));
}

namespace {
Tensor dropout_of_ones(int64_t n, double rate, int64_t stream, uint64_t seed, uint64_t step) {
  EvalContext ctx;
  ctx.training = true;
  ctx.seed = seed;
  ctx.step = step;
  return run_op("dropout", {f32_tensor({n}, std::vector<double>(size_t(n), 1.0))},
                {{"rate", rate}, {"stream", stream}}, ctx);
}
int64_t kept(const Tensor& t) {
  int64_t k = 0;
  for (double v : t.data) k += v != 0;
  return k;
}
int64_t differences(const Tensor& a, const Tensor& b) {
  int64_t d = 0;
  for (int64_t i = 0; i < a.numel(); i++) d += a[i] != b[i];
  return d;
}
} // namespace

TEST_CASE("interp: dropout is the identity at inference") {
  Tensor x = f32_tensor({3}, {1, -2, 3});
  check_tensor(run_op("dropout", {x}, {{"rate", 0.5}, {"stream", int64_t(1)}}), {3}, {1, -2, 3});
  EvalContext train;
  train.training = true;
  check_tensor(run_op("dropout", {x}, {{"rate", 0.0}, {"stream", int64_t(1)}}, train), {3}, {1, -2, 3});
}

TEST_CASE("interp: dropout at training keeps about 1-rate, scaled by 1/(1-rate)") {
  const int64_t n = 20000;
  for (double rate : {0.5, 0.2, 0.9}) {
    CAPTURE(rate);
    Tensor y = dropout_of_ones(n, rate, 3, 42, 7);
    double scale = double(float(1.0 / (1.0 - rate)));
    int64_t other = 0;
    for (double v : y.data) other += v != 0 && v != scale;
    CHECK(other == 0);
    // Kept fraction: binomial with sd sqrt(p(1-p)/n) <= 0.0036; allow 5 sd.
    CHECK(std::fabs(double(kept(y)) / double(n) - (1 - rate)) < 0.018);
  }
}

TEST_CASE("interp: dropout masks are a function of (seed, step, stream)") {
  const int64_t n = 1000;
  Tensor a = dropout_of_ones(n, 0.5, 3, 42, 7);
  CHECK(differences(a, dropout_of_ones(n, 0.5, 3, 42, 7)) == 0); // same key, same mask
  // Independent masks at rate 0.5 differ in about half the positions.
  CHECK(differences(a, dropout_of_ones(n, 0.5, 3, 42, 8)) > n / 4);  // next step
  CHECK(differences(a, dropout_of_ones(n, 0.5, 4, 42, 7)) > n / 4);  // another dropout node
  CHECK(differences(a, dropout_of_ones(n, 0.5, 3, 43, 7)) > n / 4);  // another seed
  CHECK(contains(error_of([] { dropout_of_ones(4, 1.0, 0, 0, 0); }), "rate must be in [0, 1), got 1"));
}
