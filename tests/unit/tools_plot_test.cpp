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
  std::vector<EpochMetrics> h = {{1, 0.9, 0.70, 1.0, 0.65}, {2, 0.6, 0.80, 0.7, 0.78},
                                 {3, 0.4, 0.86, 0.5, 0.84}};
  std::string svg = curves_svg("mlp <test>", h);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("mlp &lt;test&gt;") != std::string::npos); // title escaped
  CHECK(count(svg, "<polyline") == 4);                      // loss and accuracy, train and val
  CHECK(count(svg, "<circle") == 12);                       // 3 epochs x 4 series
}

TEST_CASE("curves_svg leaves out validation when there is none") {
  std::vector<EpochMetrics> h = {{1, 0.5, 0.9, -1, -1}};
  std::string svg = curves_svg("t", h);
  CHECK(count(svg, "<polyline") == 2);
  CHECK(svg.find("validation") == std::string::npos);
}
