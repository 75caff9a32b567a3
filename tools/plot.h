// Training curves as an SVG file: loss and the model's first metric (when it lists one)
// per epoch, training and validation, in panels with axes and ticks, and a legend beside them (never over a curve). A
// browser shows it as it is.
#pragma once

#include <string>
#include <vector>

namespace dlc::tools {

// One epoch of the training history (`dlc train --history`, the plot, checkpoints).
struct EpochMetrics {
  int epoch = 0; // 1-based
  double loss = 0;
  std::vector<double> metrics;     // the model's metrics, pipeline::Metrics::names() order
  double val_loss = -1;            // < 0: no validation split
  std::vector<double> val_metrics; // empty without a validation split
  double lr = 0;                   // the learning rate of the epoch's last step
  double seconds = 0;              // the epoch's training time (validation not counted)
  std::vector<double> loss_parts{}; // the parts of the loss (Runner::loss_part_names() order)
};

// `metrics`: the names of EpochMetrics::metrics; the second panel shows the first.
std::string curves_svg(const std::string& title, const std::vector<EpochMetrics>& history,
                       const std::vector<std::string>& metrics);

} // namespace dlc::tools
