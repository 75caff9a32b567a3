// random_flip, random_translation, random_zoom, random_rotation and random_crop (issue
// #18), Keras's image augmentation layers: the values a human works out for each fill mode
// and interpolation, a fresh draw per image, the identity (crop: the centre window) and
// nothing left in the inference graph outside training, the gradient against finite
// differences in training. The JIT and emitted C++ draw the same bits
// (codegen_jit_cpp_parity_test.cpp, kAugmentModel).
#include "gradcheck_helpers.h"
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "model_error.h"
#include "passes/cleanup/cleanup.h"
#include "passes/gradcheck.h"
#include "passes/training.h"

#include <doctest/doctest.h>

#include <set>

using namespace dlc;

namespace {

// The layer's outputs for `batch` copies of one image x (shape `shape`), training or not.
std::vector<double> run(const std::string& layer, const std::string& shape, const std::vector<double>& x,
                        bool training, int64_t batch = 1, uint64_t step = 3) {
  auto m = frontend::load_model_text(R"({"input_shape": )" + shape + R"(, "layers": [)" + layer + "]}", "m.json");
  ir::Graph g = frontend::build_model(m, batch).graph;
  std::vector<double> xs;
  for (int64_t i = 0; i < batch; i++) xs.insert(xs.end(), x.begin(), x.end());
  ir::Bindings b = {{"input", ir::Tensor(g.type(g.find("input")), xs)}};
  return ir::run_outputs(g, b, ir::EvalContext{training, ir::Precision::f64, 42, step})[0].second.data;
}

std::vector<double> image(int64_t n) {
  std::vector<double> v;
  for (int64_t i = 1; i <= n; i++) v.push_back(double(i));
  return v;
}

// Sample s of a batch of images of `size` elements.
std::vector<double> sample(const std::vector<double>& y, size_t s, size_t size) {
  return {y.begin() + long(s * size), y.begin() + long((s + 1) * size)};
}

void check_near(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); i++) {
    INFO("element ", i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
  }
}

} // namespace

TEST_CASE("random_flip: each image flipped or not along the chosen axes; the identity at inference") {
  // 2 x 3 images 1..6: rows [1 2 3] [4 5 6].
  std::vector<double> x = image(6), mirrored = {3, 2, 1, 6, 5, 4}, upside = {4, 5, 6, 1, 2, 3},
                      both = {6, 5, 4, 3, 2, 1};
  std::vector<double> y = run(R"({"type": "random_flip", "mode": "horizontal"})", "[2, 3, 1]", x, true, 64);
  int flipped = 0;
  for (size_t s = 0; s < 64; s++) {
    std::vector<double> v = sample(y, s, 6);
    CHECK((v == x || v == mirrored));
    flipped += v == mirrored;
  }
  // Binomial(64, 1/2): sd 4; 16..48 is 4 of them.
  CHECK(flipped > 16);
  CHECK(flipped < 48);
  std::set<std::vector<double>> seen;
  y = run(R"({"type": "random_flip"})", "[2, 3, 1]", x, true, 64);
  for (size_t s = 0; s < 64; s++) seen.insert(sample(y, s, 6));
  CHECK(seen == std::set<std::vector<double>>{x, mirrored, upside, both});
  std::vector<double> four;
  for (int i = 0; i < 4; i++) four.insert(four.end(), x.begin(), x.end());
  CHECK(run(R"({"type": "random_flip"})", "[2, 3, 1]", x, false, 4) == four);
  // Another step draws other coins.
  CHECK(run(R"({"type": "random_flip"})", "[2, 3, 1]", x, true, 64, 4) != y);
}

TEST_CASE("random_translation: by hand for every fill mode and both interpolations") {
  // One row [1 2 3 4]; width_factor [0.5, 0.5] shifts by 2 pixels to the right: the
  // output at x reads the input at x - 2.
  std::vector<double> x = image(4);
  auto shift = [&](const std::string& factor, const std::string& more) {
    return run(R"({"type": "random_translation", "height_factor": 0, "width_factor": )" + factor + more + "}",
               "[1, 4, 1]", x, true);
  };
  check_near(shift("[0.5, 0.5]", R"(, "fill_mode": "constant", "fill_value": -1)"), {-1, -1, 1, 2});
  check_near(shift("[0.5, 0.5]", R"(, "fill_mode": "reflect")"), {2, 1, 1, 2});  // reads x at -2, -1: 2, 1
  check_near(shift("[0.5, 0.5]", R"(, "fill_mode": "wrap")"), {3, 4, 1, 2});     // -2, -1: 3, 4
  check_near(shift("[0.5, 0.5]", R"(, "fill_mode": "nearest")"), {1, 1, 1, 2});  // clamped to 0
  check_near(shift("[-0.25, -0.25]", R"(, "fill_mode": "constant")"), {2, 3, 4, 0}); // one pixel left
  // Half a pixel (0.125 of 4) to the right: bilinear takes the mean of two neighbours, the
  // fill value for a neighbour outside (constant), the edge pixel (reflect).
  check_near(shift("[0.125, 0.125]", R"(, "fill_mode": "constant")"), {0.5, 1.5, 2.5, 3.5});
  check_near(shift("[0.125, 0.125]", ""), {1, 1.5, 2.5, 3.5});
  // Nearest rounds halves away from zero: x - 0.5 reads -1 (the fill), then 1, 2, 3.
  check_near(shift("[0.125, 0.125]", R"(, "fill_mode": "constant", "interpolation": "nearest")"), {0, 2, 3, 4});

  // Random shifts of whole images: every sample of a 1 x 8 ramp shifted by d in
  // [-0.25, 0.25) * 8 = [-2, 2) pixels (constant fill, bilinear): y[x] = x + 1 - d where
  // the point is inside, and the draws differ between images.
  std::vector<double> ramp = image(8);
  std::vector<double> y = run(R"({"type": "random_translation", "height_factor": 0, "width_factor": 0.25,
                                  "fill_mode": "constant"})", "[1, 8, 1]", ramp, true, 16);
  std::set<double> shifts;
  for (size_t s = 0; s < 16; s++) {
    double d = ramp[4] - y[s * 8 + 4]; // pixel 4 reads 4 - d, inside for |d| <= 2
    CHECK(d >= -2);
    CHECK(d < 2);
    for (int64_t p = 2; p < 6; p++) CHECK(y[s * 8 + size_t(p)] == doctest::Approx(double(p) + 1 - d));
    shifts.insert(d);
  }
  CHECK(shifts.size() == 16);
}

TEST_CASE("random_rotation and random_zoom: by hand") {
  // A quarter turn counter-clockwise (Keras's positive direction) of the 3 x 3 image
  // [1 2 3] [4 5 6] [7 8 9] is [3 6 9] [2 5 8] [1 4 7].
  check_near(run(R"({"type": "random_rotation", "factor": [0.25, 0.25], "interpolation": "nearest"})", "[3, 3, 1]",
                 image(9), true),
             {3, 6, 9, 2, 5, 8, 1, 4, 7});
  // Half a turn, bilinear: the image reversed (sin(pi) is not exactly 0: to rounding).
  check_near(run(R"({"type": "random_rotation", "factor": [0.5, 0.5]})", "[3, 3, 1]", image(9), true),
             {9, 8, 7, 6, 5, 4, 3, 2, 1});
  // Zoom by 1 + u, u = -0.5 on both axes (zoom in 2x about the centre 1.5) of the 4 x 4
  // image v = 10 row + col: the output at (y, x) reads (0.5 y + 0.75, 0.5 x + 0.75), and
  // bilinear interpolation of a linear image is exact.
  std::vector<double> v;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++) v.push_back(10 * r + c);
  std::vector<double> want, want_hw;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++) {
      want.push_back(10 * (0.5 * r + 0.75) + 0.5 * c + 0.75);
      want_hw.push_back(10 * (0.5 * r + 0.75) + (0.75 * c + 0.375)); // width: u = -0.25
    }
  check_near(run(R"({"type": "random_zoom", "height_factor": [-0.5, -0.5]})", "[4, 4, 1]", v, true), want);
  check_near(run(R"({"type": "random_zoom", "height_factor": [-0.5, -0.5], "width_factor": [-0.25, -0.25]})",
                 "[4, 4, 1]", v, true),
             want_hw);
  // At inference: the input, and no node left.
  CHECK(run(R"({"type": "random_rotation", "factor": 0.2})", "[4, 4, 1]", v, false) == v);
  auto m = frontend::load_model_text(R"({"input_shape": [4, 4, 2], "layers": [{"type": "random_zoom", "height_factor": 0.2},
      {"type": "random_rotation", "factor": 0.1}, {"type": "random_translation", "height_factor": 0.1, "width_factor": 0.1},
      {"type": "random_flip"}, {"type": "random_crop", "padding": 1}]})",
                                     "m.json");
  CHECK(passes::specialize_phase(frontend::build_model(m, 2).graph, false).nodes().empty());
}

TEST_CASE("random_crop: a random window of the padded image in training, the centre window otherwise") {
  // 3 x 3 image 1..9 padded by one zero pixel: 9 possible 3 x 3 windows.
  std::vector<double> x = image(9);
  std::vector<double> padded(25, 0.0);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++) padded[size_t((r + 1) * 5 + c + 1)] = x[size_t(r * 3 + c)];
  std::set<std::vector<double>> windows;
  for (int oy = 0; oy < 3; oy++)
    for (int ox = 0; ox < 3; ox++) {
      std::vector<double> w;
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) w.push_back(padded[size_t((oy + r) * 5 + ox + c)]);
      windows.insert(w);
    }
  std::vector<double> y = run(R"({"type": "random_crop", "padding": 1})", "[3, 3, 1]", x, true, 90);
  std::set<std::vector<double>> seen;
  for (size_t s = 0; s < 90; s++) {
    CHECK(windows.count(sample(y, s, 9)) == 1);
    seen.insert(sample(y, s, 9));
  }
  CHECK(seen == windows); // each window has probability 1/9: all 9 within 90 draws (miss: < 9 (8/9)^90 = 2e-4)
  CHECK(run(R"({"type": "random_crop", "padding": 1})", "[3, 3, 1]", x, false) == x);
  // A smaller window: 2 x 2 of the 4 x 4 image, the centre (1, 1) at inference.
  std::vector<double> c = run(R"({"type": "random_crop", "height": 2, "width": 2})", "[4, 4, 1]", image(16), false);
  CHECK(c == std::vector<double>{6, 7, 10, 11});
}

TEST_CASE("augmentation layers: gradients in training against finite differences") {
  // Augmentation after a convolution, so that its gradient is needed: bilinear
  // rotation with reflection, zoom with a constant fill, a flip and a smaller crop.
  std::string text = R"({"input_shape": [6, 6, 1], "layers": [
    {"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "same", "activation": "tanh"},
    {"type": "random_rotation", "factor": 0.1},
    {"type": "random_zoom", "height_factor": [-0.3, 0.2], "width_factor": 0.1, "fill_mode": "constant", "fill_value": 0.5},
    {"type": "random_flip"},
    {"type": "random_translation", "height_factor": 0.2, "width_factor": 0.2, "fill_mode": "wrap"},
    {"type": "random_crop", "height": 4, "width": 5, "padding": 1},
    {"type": "flatten"}, {"type": "dense", "units": 3, "activation": "softmax"}],
    "loss": "categorical_crossentropy"})";
  frontend::Model m = frontend::load_model_text(text, "model.json");
  passes::GradCheckOptions opt;
  opt.max_entries = 12;
  opt.eval.step = 5;
  passes::GradCheckResult r = passes::check_model_gradients(frontend::build_model(m, 3).graph, m.training, opt);
  REQUIRE(r.values.size() == 4);
  check_gradients_agree(r);
}

TEST_CASE("augmentation layers: bad input") {
  using test_cpp::model_error;
  CHECK(model_error(R"({"type": "random_flip", "mode": "horizontl"})", "[4, 4, 1]")
            .find("unknown mode 'horizontl', did you mean 'horizontal'?") != std::string::npos);
  CHECK(model_error(R"({"type": "random_translation", "height_factor": 0.1, "width_factor": 1.5})", "[4, 4, 1]")
            .find("width_factor: expected factors with -1 <= lower <= upper <= 1") != std::string::npos);
  CHECK(model_error(R"({"type": "random_translation", "height_factor": 0.1})", "[4, 4, 1]")
            .find("width_factor") != std::string::npos);
  CHECK(model_error(R"({"type": "random_zoom", "height_factor": 0.1, "fill_mode": "mirror"})", "[4, 4, 1]")
            .find("unknown fill_mode 'mirror'; known: reflect, wrap, constant, nearest") != std::string::npos);
  CHECK(model_error(R"({"type": "random_rotation", "factor": [0.2, 0.1]})", "[4, 4, 1]")
            .find("expected factors") != std::string::npos);
  CHECK(model_error(R"({"type": "random_crop", "height": 9, "padding": 2})", "[4, 4, 1]")
            .find("a 9x4 window does not fit the 4x4 image padded by 2") != std::string::npos);
  CHECK(model_error(R"({"type": "random_crop"})", "[4, 4, 1]").find("give a padding") != std::string::npos);
  CHECK(model_error(R"({"type": "random_crop", "padding": -1})", "[4, 4, 1]").find("expected a padding") !=
        std::string::npos);
  CHECK(model_error(R"({"type": "random_flip"})", "[16]").find("needs a 4-D input") != std::string::npos);
}

TEST_CASE("random_affine is never folded into a constant, even of a constant image") {
  ir::Graph g;
  ir::ValueId img = g.add_constant("img", ir::TensorType{ir::DType::f32, ir::Shape{1, 2, 2, 1}}, {1, 2, 3, 4});
  ir::Attrs a{{"kind", std::string("flip")}, {"stream", int64_t(1)},  {"height", int64_t(2)},
              {"width", int64_t(2)},         {"h_lower", 0.0},            {"h_upper", 0.5},
              {"w_lower", 0.0},              {"w_upper", 0.5},            {"fill_mode", std::string("constant")},
              {"fill_value", 0.0},           {"interpolation", std::string("nearest")}};
  g.add_output("y", g.add_node("random_affine", {img}, a, "flip")[0]);
  ir::Graph folded = passes::fold_constants(g);
  REQUIRE(folded.nodes().size() == 1);
  CHECK(folded.nodes()[0].op->name == "random_affine");
}
