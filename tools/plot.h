// Training curves as an SVG file: loss and accuracy per epoch, training and validation,
// in two panels with axes and ticks, and a legend beside them (never over a curve). A
// browser shows it as it is.
#pragma once

#include <string>
#include <vector>

namespace dlc::tools {

struct EpochMetrics {
  int epoch = 0; // 1-based
  double loss = 0, accuracy = 0;
  double val_loss = -1, val_accuracy = -1; // < 0: no validation split
};

std::string curves_svg(const std::string& title, const std::vector<EpochMetrics>& history);

} // namespace dlc::tools
