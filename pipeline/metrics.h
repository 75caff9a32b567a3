// The metrics a model file lists (docs/model-format.md), accumulated over batches and
// reported by `dlc train` (progress, epoch line, validation, history) and `dlc eval`.
// Each formula is written here once; tools/ only prints what this computes.
//
// Which accuracy, as Keras infers it from the shapes: one output unit per position is
// binary accuracy ((output > 0.5) == (target > 0.5)); class-id targets are sparse
// categorical accuracy (argmax of the output == the label); other targets categorical
// accuracy (argmax of the output == argmax of the target).
#pragma once

#include "ir/training_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlc::pipeline {

// What the metrics see of a batch: the model's outputs and the targets as the trainer
// feeds them to the runner.
struct MetricTask {
  int64_t output_size = 1; // output values per sample
  int64_t positions = 1;   // class labels per sample (T for sequence labels), else 1
  bool labels = false;     // targets are class ids, one per position; else output_size values
  int64_t steps = 1;       // the time steps of a sequence output (its axis 1), which a mask covers
  int64_t classes() const { return output_size / positions; }
};

// Keras's AUC: ROC curve over this many thresholds, trapezoidal rule.
constexpr int kAucThresholds = 200;

class Metrics {
public:
  Metrics() = default;
  Metrics(std::vector<ir::MetricSpec> specs, MetricTask task);

  // Adds n samples: outputs [n, output_size], targets [n, positions] (labels) or
  // [n, output_size]. With a mask [n, steps] (Runner::last_mask), the values of steps
  // whose mask is 0 (padding) are not counted.
  void add(const float* outputs, const float* targets, int64_t n, const float* mask = nullptr);
  void reset();
  bool empty() const { return specs_.empty(); }

  // The metrics' names (as Keras's history names them) and their values so far, in the
  // model file's order; a metric with nothing counted yet is 0.
  std::vector<std::string> names() const;
  std::vector<double> values() const;
  // "accuracy 0.9000 auc 0.8125" (prefix "val_" for validation).
  std::string line(const std::string& prefix = "") const;

  // The running counts, for checkpoints: a resumed epoch continues them exactly.
  std::vector<double> state() const;
  // Throws dlc::Error when `s` is not a state of these metrics.
  void set_state(const std::vector<double>& s);

  enum class Kind { accuracy, top_k, mse, mae, precision, recall, auc };

private:
  std::vector<ir::MetricSpec> specs_;
  std::vector<Kind> kinds_; // of specs_, resolved once (add() runs per batch)
  MetricTask task_;
  std::vector<std::vector<double>> sums_; // per metric, see metrics.cpp
};

// The metrics of every reported output (Runner::output_names): one Metrics per output,
// named as ir::metric_names names them ("accuracy" with one loss, "digit_accuracy" with
// several). Batches arrive as the Runner's blocks: outputs and targets one after another.
class MetricSet {
public:
  MetricSet() = default;
  // `tasks`: one per reported output; `outputs`: their names (a prefix when several).
  MetricSet(const std::vector<ir::MetricSpec>& specs, const std::vector<MetricTask>& tasks,
            const std::vector<std::string>& outputs);
  // outputs/targets: each output's n samples (targets as MetricTask says), one after another.
  void add(const float* outputs, const float* targets, int64_t n, const float* mask = nullptr);
  void reset();
  bool empty() const;
  std::vector<std::string> names() const;
  std::vector<double> values() const;
  std::string line(const std::string& prefix = "") const;
  std::vector<double> state() const;
  void set_state(const std::vector<double>& s); // throws dlc::Error as Metrics::set_state

private:
  std::vector<Metrics> per_output_;
  std::vector<MetricTask> tasks_;
  std::vector<std::string> prefixes_;
};

// "val_accuracy 0.9000 val_auc 0.8125": names and values, each name prefixed.
std::string metrics_line(const std::vector<std::string>& names, const std::vector<double>& values,
                         const std::string& prefix = "");

// The thresholds of Keras's AUC: -1e-7, i / (n - 1) for i = 1 .. n - 2, 1 + 1e-7.
std::vector<double> auc_thresholds();

} // namespace dlc::pipeline
