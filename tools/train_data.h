// Feeding a data set to a Runner: per-epoch shuffling, batches of inputs and targets in
// the form the training graph wants, accuracy and whole-set evaluation. Shared by
// `dlc train` and `dlc eval`.
#pragma once

#include "pipeline/metrics.h"
#include "pipeline/runner.h"
#include "frontend/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlc::tools {

// How a data set's targets become the runner's target input.
enum class TargetKind {
  values,    // the data holds a target array per sample: copied as is
  one_hot,   // class labels, the loss wants one-hot rows (categorical cross-entropy)
  class_ids, // class labels, the loss wants the ids (sparse cross-entropy, 0/1 for binary)
};

// What the runner's loss expects of the data, and what the metrics see of it.
struct TargetFormat {
  TargetKind kind = TargetKind::values;
  int64_t target_size = 1; // target values per sample
  int64_t output_size = 1; // model output values per sample
  bool classification = false; // class labels or a classification loss: eval prints a confusion matrix
  // Class labels per position (a [T, C] output): T positions of output_size / T classes
  // each; accuracy and the confusion matrix count positions. 1 otherwise.
  int64_t positions = 1;
  int64_t classes() const { return output_size / positions; }
  int64_t steps = 1; // the time steps of a sequence output (axis 1), which a mask covers
  // The metrics read the outputs and the batch targets fill_batch makes.
  pipeline::MetricTask metric_task() const { return {output_size, positions, kind == TargetKind::class_ids, steps}; }
};

// One format per loss (Runner::target_types order), or one for the first output of a model
// without a loss. Throws dlc::Error when the data does not fit the model
// (frontend::check_parts_fit_model).
std::vector<TargetFormat> target_formats(const pipeline::Runner& r, const frontend::Model& m,
                                         const frontend::Dataset& d);

// The metrics of the runner's reported outputs, fed as fill_batch makes the targets.
pipeline::MetricSet make_metrics(const pipeline::Runner& r, const std::vector<TargetFormat>& f,
                                 const std::vector<ir::MetricSpec>& metrics);

// The order of the training samples in epoch `epoch` (0-based): a Fisher-Yates shuffle
// drawn from the counter-based RNG keyed by (seed, epoch), so a resumed run draws the same.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// Copies samples order[begin, begin + n) into x and their targets into t, as the Runner
// takes them: each input's n samples one after another, then each target's.
void fill_batch(const frontend::Dataset& d, const std::vector<TargetFormat>& f, const std::vector<int64_t>& order,
                int64_t begin, int64_t n, std::vector<float>& x, std::vector<float>& t);

// The class a model output row predicts, and the class of sample i at position p.
int64_t predicted_class(const float* out, int64_t size);
int64_t true_class(const frontend::Dataset& d, int64_t i, int64_t p = 0);

struct EvalResult {
  double loss = 0;
  std::vector<double> metrics; // the model's metrics (pipeline::Metrics::names() order)
  std::string metrics_line;    // "accuracy 0.9000 ..." ("" without metrics)
  int64_t classes = 0;
  std::vector<int64_t> confusion; // classes x classes, row: true class, column: predicted
};

// Loss (sample-weighted mean of batch means) and the model's metrics (over positions for
// sequence labels) over a whole data set, in batches of the runner's size, without
// changing anything; the confusion matrix when asked and the loss is a classification.
// With stateful layers: the states reset first, and only the whole batches (in order).
// The confusion matrix needs a single loss.
EvalResult evaluate_dataset(pipeline::Runner& r, const frontend::Dataset& d, const std::vector<TargetFormat>& f,
                            const std::vector<ir::MetricSpec>& metrics, bool confusion = false);

// The first reported output of n samples (x: n rows of the input, as infer takes them),
// in batches of the runner's size, into out (n rows of the first output): dlc predict
// and the Python module's predict.
void infer_first_output(pipeline::Runner& r, const float* x, int64_t n, float* out);

// Ensembles (dlc eval/predict with several --weights): every sample's reported outputs in
// batches of the runner's size, as infer writes them (a batch's outputs one after
// another), and the metrics and confusion matrix of such outputs (an average over
// members, say). A model with a loss runs its evaluation (no update, no dropout) so that
// a masked output's padding is known. The loss of an average is not computed: `loss` is 0. Throws dlc::Error
// for a model with stateful layers.
// `masks` (when not null) receives the loss's mask of every sample ([n, T], as
// Runner::last_mask; empty when the output has none), which score_outputs honours;
// `loss` (when not null) the loss over the set, as evaluate_dataset reports it.
std::vector<float> infer_dataset(pipeline::Runner& r, const frontend::Dataset& d, const std::vector<TargetFormat>& f,
                                 std::vector<float>* masks = nullptr, double* loss = nullptr);
EvalResult score_outputs(const pipeline::Runner& r, const frontend::Dataset& d, const std::vector<TargetFormat>& f,
                         const std::vector<float>& outputs, const std::vector<ir::MetricSpec>& metrics, bool confusion,
                         const std::vector<float>& masks = {});

} // namespace dlc::tools
