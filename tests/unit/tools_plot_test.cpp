// The training-curve SVG: well-formed, one point per epoch per series, values in range.
#include "tools/plot.h"

#include <doctest/doctest.h>

#include <string>

using dlc::tools::curves_svg;
using dlc::tools::EpochMetrics;

static int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) n++;
  return n;
}

TEST_CASE("curves_svg draws training and validation series per epoch") {
  std::vector<EpochMetrics> h = {{1, 0.9, {0.70}, 1.0, {0.65}}, {2, 0.6, {0.80}, 0.7, {0.78}},
                                 {3, 0.4, {0.86}, 0.5, {0.84}}};
  std::string svg = curves_svg("mlp <test>", h, {"accuracy"});
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("mlp &lt;test&gt;") != std::string::npos); // title escaped
  CHECK(count(svg, "<polyline") == 4);                      // loss and accuracy, train and val
  CHECK(count(svg, "<circle") == 12);                       // 3 epochs x 4 series
}

TEST_CASE("curves_svg leaves out validation when there is none") {
  std::vector<EpochMetrics> h = {{1, 0.5, {0.9}, -1, {}}};
  std::string svg = curves_svg("t", h, {"auc"});
  CHECK(count(svg, "<polyline") == 2);
  CHECK(svg.find("validation") == std::string::npos);
  CHECK(svg.find(">auc</text>") != std::string::npos); // the second panel is the first metric's
}

TEST_CASE("curves_svg draws the loss alone for a model without metrics") {
  std::vector<EpochMetrics> h = {{1, 0.5, {}, 0.6, {}}, {2, 0.4, {}, 0.5, {}}};
  std::string svg = curves_svg("t", h, {});
  CHECK(count(svg, "<polyline") == 2); // training and validation loss
  CHECK(count(svg, "stroke=\"#444\"") == 1); // one panel
  CHECK(svg.find("accuracy") == std::string::npos);
}

namespace {

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

// The number in attribute `name` of the element that starts at `at`.
double attr(const std::string& svg, size_t at, const std::string& name) {
  size_t p = svg.find(" " + name + "=\"", at);
  REQUIRE(p != std::string::npos);
  REQUIRE(p < svg.find('>', at));
  return std::stod(svg.substr(p + name.size() + 3));
}

Box rect_at(const std::string& svg, size_t at) {
  return {attr(svg, at, "x"), attr(svg, at, "y"), attr(svg, at, "width"), attr(svg, at, "height")};
}

bool overlap(const Box& a, const Box& b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

} // namespace

TEST_CASE("curves_svg puts the legend outside both plot areas, inside the canvas") {
  // Curves that run through the top right corner of each panel, where the legend used to be.
  std::vector<EpochMetrics> h = {{1, 0.1, {0.1}, 0.1, {0.1}}, {2, 0.5, {0.5}, 0.5, {0.5}}, {3, 0.9, {0.9}, 0.9, {0.9}}};
  std::string svg = curves_svg("t", h, {"accuracy"});
  std::vector<Box> panels;
  for (size_t p = svg.find("<rect x="); p != std::string::npos; p = svg.find("<rect x=", p + 1))
    if (svg.compare(svg.find("stroke=", p), 13, "stroke=\"#444\"") == 0) panels.push_back(rect_at(svg, p));
  REQUIRE(panels.size() == 2);
  size_t g = svg.find("<g class=\"legend\">");
  REQUIRE(g != std::string::npos);
  Box legend = rect_at(svg, svg.find("<rect", g));
  for (const Box& panel : panels) CHECK_FALSE(overlap(legend, panel));
  double width = attr(svg, 0, "width"), height = attr(svg, 0, "height");
  CHECK(legend.x + legend.w <= width);
  CHECK(legend.y + legend.h <= height);
  // Both labels sit in the legend's box.
  size_t end = svg.find("</g>", g);
  CHECK(count(svg.substr(g, end - g), "<text") == 2);
  for (size_t t = svg.find("<text", g); t < end; t = svg.find("<text", t + 1)) {
    double x = attr(svg, t, "x"), y = attr(svg, t, "y");
    CHECK(x > legend.x);
    CHECK(x < legend.x + legend.w);
    CHECK(y > legend.y);
    CHECK(y < legend.y + legend.h);
  }
}
