#include "tools/plot.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace dlc::tools {

namespace {

// Two panels side by side, the legend in a column of its own to their right.
constexpr double kPanelW = 420, kPanelH = 300, kMarginL = 60, kMarginT = 50, kGap = 90, kLegendGap = 24,
                 kLegendW = 110, kMarginR = 20;

// "Nice" tick step for a range: 1, 2 or 5 times a power of ten, about 5 ticks.
double tick_step(double range) {
  double raw = range / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

struct Series {
  std::string label, color;
  std::vector<double> y; // per epoch; negative = missing
};

bool has_value(const Series& s, size_t i) { return s.y[i] >= 0 && std::isfinite(s.y[i]); }

bool has_values(const Series& s) {
  for (size_t i = 0; i < s.y.size(); i++)
    if (has_value(s, i)) return true;
  return false;
}

// The legend, in a framed box at (x, y) outside both panels, so that it never hides a curve:
// a line in each drawn series' colour and its label.
std::string legend(double x, double y, const std::vector<Series>& series) {
  std::string rows;
  int n = 0;
  for (auto& s : series) {
    if (!has_values(s)) continue;
    double ly = y + 16 + 18 * n++;
    rows += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>"
                        "<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>\n",
                        x + 10, ly, x + 30, ly, s.color, x + 36, ly + 4, s.label);
  }
  if (n == 0) return "";
  return fmt::format("<g class=\"legend\">\n<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" "
                     "stroke=\"#aaa\"/>\n{}</g>\n",
                     x, y, kLegendW, 18 * n + 10, rows);
}

std::string panel(double x0, const std::string& name, int epochs, const std::vector<Series>& series) {
  double lo = INFINITY, hi = -INFINITY;
  for (auto& s : series)
    for (double v : s.y)
      if (v >= 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1e-3 + std::fabs(lo) * 0.1;
  double step = tick_step(hi - lo);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  auto px = [&](double e) { return x0 + (epochs <= 1 ? kPanelW / 2 : (e - 1) / (epochs - 1) * kPanelW); };
  auto py = [&](double v) { return kMarginT + kPanelH - (v - lo) / (hi - lo) * kPanelH; };
  std::string out = fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n", x0 + kPanelW / 2,
      kMarginT - 15, name);
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n",
                     x0, kMarginT, kPanelW, kPanelH);
  for (double v = lo; v <= hi + step / 2; v += step) {
    out += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", x0,
                       py(v), x0 + kPanelW, py(v));
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{:g}</text>\n",
                       x0 - 6, py(v) + 4, std::round(v / step) * step);
  }
  int estep = std::max(1, epochs / 10);
  for (int e = 1; e <= epochs; e += estep)
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                       px(e), kMarginT + kPanelH + 16, e);
  out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">epoch</text>\n",
                     x0 + kPanelW / 2, kMarginT + kPanelH + 34);
  for (auto& s : series) {
    std::string pts;
    for (size_t i = 0; i < s.y.size(); i++)
      if (has_value(s, i)) pts += fmt::format("{:.1f},{:.1f} ", px(double(i + 1)), py(s.y[i]));
    if (pts.empty()) continue;
    out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", pts, s.color);
    for (size_t i = 0; i < s.y.size(); i++)
      if (has_value(s, i))
        out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(double(i + 1)),
                           py(s.y[i]), s.color);
  }
  return out;
}

} // namespace

std::string curves_svg(const std::string& title, const std::vector<EpochMetrics>& history,
                       const std::vector<std::string>& metrics) {
  int epochs = int(history.size());
  Series loss{"training", "#1f77b4", {}}, val_loss{"validation", "#ff7f0e", {}};
  Series metric{"training", "#1f77b4", {}}, val_metric{"validation", "#ff7f0e", {}};
  for (auto& h : history) {
    loss.y.push_back(h.loss);
    val_loss.y.push_back(h.val_loss);
    metric.y.push_back(h.metrics.empty() ? -1 : h.metrics[0]);
    val_metric.y.push_back(h.val_metrics.empty() ? -1 : h.val_metrics[0]);
  }
  int panels = metrics.empty() ? 1 : 2;
  double legend_x = kMarginL + kPanelW * panels + kGap * (panels - 1) + kLegendGap;
  double width = legend_x + kLegendW + kMarginR, height = kMarginT + kPanelH + 60;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"16\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
      width, height, width, height, width / 2, escape(title));
  out += panel(kMarginL, "loss", epochs, {loss, val_loss});
  if (panels == 2) out += panel(kMarginL + kPanelW + kGap, escape(metrics[0]), epochs, {metric, val_metric});
  out += legend(legend_x, kMarginT, {loss, val_loss}); // every panel draws the same series
  return out + "</svg>\n";
}

} // namespace dlc::tools
