// gaussian_noise, gaussian_dropout, spatial_dropout2d and random_contrast (issue #18),
// Keras's GaussianNoise, GaussianDropout, SpatialDropout2D and RandomContrast: the identity at inference; in
// training the draws have the distribution Keras's formulas give (checked on many
// samples against bounds worked out from the variance), spatial dropout drops whole
// channels of a sample. The JIT and emitted C++ draw the same bits
// (codegen_jit_cpp_parity_test.cpp, kNoiseModel).
#include "frontend/model.h"
#include "model_error.h"
#include "ir/interp/interpreter.h"
#include "model_error.h"
#include "passes/training.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;

namespace {

// The layer's output for input x (shape per sample `shape`, one sample), training or not.
std::vector<double> run(const std::string& layer, const std::string& shape, const std::vector<double>& x, bool training) {
  auto m = frontend::load_model_text(R"({"input_shape": )" + shape + R"(, "layers": [)" + layer + "]}", "m.json");
  ir::Graph g = frontend::build_model(m, 1).graph;
  ir::Bindings b = {{"input", ir::Tensor(g.type(g.find("input")), x)}};
  return ir::run_outputs(g, b, ir::EvalContext{training, ir::Precision::f64, 42, 3})[0].second.data;
}

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  double s = 0, s2 = 0;
  for (double x : v) s += x, s2 += x * x;
  double mean = s / double(v.size());
  return {mean, std::sqrt(s2 / double(v.size()) - mean * mean)};
}

} // namespace

TEST_CASE("gaussian_noise and gaussian_dropout: identity at inference, Keras's distributions in training") {
  const int n = 40000;
  std::vector<double> zeros(n, 0.0), ones(n, 1.0);
  std::string shape = "[" + std::to_string(n) + "]";
  CHECK(run(R"({"type": "gaussian_noise", "stddev": 0.5})", shape, ones, false) == ones);
  CHECK(run(R"({"type": "gaussian_dropout", "rate": 0.2})", shape, ones, false) == ones);
  // x + 0.5 N(0, 1) on zeros: mean 0, sd 0.5. The sample mean's sd is 0.5 / sqrt(n) =
  // 0.0025: |mean| < 0.0125 is 5 of them; the sample sd is within 2%.
  auto [m1, s1] = mean_sd(run(R"({"type": "gaussian_noise", "stddev": 0.5})", shape, zeros, true));
  CHECK(std::fabs(m1) < 0.0125);
  CHECK(s1 == doctest::Approx(0.5).epsilon(0.02));
  // x N(1, rate / (1 - rate)) on ones, rate 0.2: mean 1, sd sqrt(0.25) = 0.5.
  auto [m2, s2] = mean_sd(run(R"({"type": "gaussian_dropout", "rate": 0.2})", shape, ones, true));
  CHECK(std::fabs(m2 - 1) < 0.0125);
  CHECK(s2 == doctest::Approx(0.5).epsilon(0.02));
}

TEST_CASE("spatial_dropout2d drops whole channels of a sample, scaled by 1 / (1 - rate)") {
  // One sample 4 x 4 x 400 of ones, rate 0.25: each of the 400 channels is all 0 or all
  // 4/3; about 100 are dropped (binomial sd sqrt(400 * 0.25 * 0.75) = 8.7: 60..140 is
  // more than 4 of them).
  const int h = 4, w = 4, c = 400;
  std::vector<double> ones(h * w * c, 1.0);
  std::string layer = R"({"type": "spatial_dropout2d", "rate": 0.25})", shape = "[4, 4, 400]";
  CHECK(run(layer, shape, ones, false) == ones);
  std::vector<double> y = run(layer, shape, ones, true);
  int dropped = 0;
  for (int ch = 0; ch < c; ch++) {
    double first = y[size_t(ch)];
    CHECK((first == 0.0 || first == doctest::Approx(4.0 / 3)));
    for (int p = 0; p < h * w; p++) CHECK(y[size_t(p * c + ch)] == first);
    dropped += first == 0.0;
  }
  CHECK(dropped > 60);
  CHECK(dropped < 140);
}

TEST_CASE("noise layers: bad input") {
  auto error_of = test_cpp::model_error;
  CHECK(error_of(R"({"type": "gaussian_noise", "stddev": -1})", "[3]").find("expected a standard deviation >= 0") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "gaussian_noise"})", "[3]").find("stddev") != std::string::npos);
  CHECK(error_of(R"({"type": "gaussian_dropout", "rate": 1})", "[3]").find("expected a rate in [0, 1)") !=
        std::string::npos);
  CHECK(error_of(R"({"type": "spatial_dropout2d", "rate": 0.5})", "[3]")
            .find("needs a 4-D input [batch, height, width, channels]") != std::string::npos);
}

TEST_CASE("random_contrast: one factor per image about each channel's mean in training, the identity otherwise") {
  // 3 images 2 x 2 x 2; channel 0 holds 1, 2, 3, 4 (mean 2.5), channel 1 holds 10, 10, 10, 14 (mean 11).
  auto m = frontend::load_model_text(R"({"input_shape": [2, 2, 2], "layers": [{"type": "random_contrast", "factor": [0.5, 0.2]}]})",
                                     "m.json");
  ir::Graph g = frontend::build_model(m, 3).graph;
  std::vector<double> one = {1, 10, 2, 10, 3, 10, 4, 14}, x;
  for (int i = 0; i < 3; i++) x.insert(x.end(), one.begin(), one.end());
  ir::Bindings b = {{"input", ir::Tensor(g.type(g.find("input")), x)}};
  std::vector<double> y = ir::run_outputs(g, b, ir::EvalContext{true, ir::Precision::f64, 9, 2})[0].second.data;
  std::vector<double> factors;
  for (int i = 0; i < 3; i++) {
    // f from the first pixel of channel 0: y = (1 - 2.5) f + 2.5.
    double f = (y[size_t(8 * i)] - 2.5) / (1 - 2.5);
    CHECK(f >= 0.5);
    CHECK(f < 1.2);
    factors.push_back(f);
    for (int p = 0; p < 4; p++) {
      CHECK(y[size_t(8 * i + 2 * p)] == doctest::Approx((one[size_t(2 * p)] - 2.5) * f + 2.5));
      CHECK(y[size_t(8 * i + 2 * p + 1)] == doctest::Approx((one[size_t(2 * p + 1)] - 11) * f + 11));
    }
  }
  CHECK(factors[0] != factors[1]);
  CHECK(factors[1] != factors[2]);
  // Inference: exactly x, and no trace of the layer in the inference graph.
  CHECK(ir::run_outputs(g, b, ir::EvalContext{false, ir::Precision::f64, 9, 2})[0].second.data == x);
  ir::Graph inference = passes::specialize_phase(g, false);
  CHECK(inference.nodes().empty());
  CHECK(test_cpp::model_error(R"({"type": "random_contrast", "factor": 1.5})", "[2, 2, 1]")
            .find("expected factors with 0 <= lower <= 1 and upper >= 0") != std::string::npos);
  CHECK(test_cpp::model_error(R"({"type": "random_contrast", "factor": 0.2})", "[4]")
            .find("needs a 4-D input") != std::string::npos);
}
