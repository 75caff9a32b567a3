// The training loop of `dlc train`: epochs of shuffled batches through a Runner, progress
// like Keras's fit, the model's metrics, validation, early stopping, reduce_on_plateau,
// the history file, checkpoints that resume bit-identically, Ctrl-C and NaN handling. The command (cmd_train.cpp) only parses options.
#pragma once

#include "pipeline/plateau.h"
#include "pipeline/runner.h"
#include "frontend/dataset.h"
#include "tools/plot.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dlc::tools {

struct TrainOptions {
  std::string model_path;
  int64_t epochs = 1; // total epochs, counting those of a resumed checkpoint
  uint64_t seed = 0;
  int early_stopping = 0; // patience in epochs on validation loss; 0: off
  std::string checkpoint_dir, resume_dir, weights_out, plot_path;
  std::string history_path; // per-epoch history: CSV, or JSON when it ends in .json
  bool verbose = false;
  bool quiet = false; // print nothing (the Python module's fit(verbose=0)); errors still throw
  bool live = false; // redraw a progress bar per batch (stdout is a terminal)
  // --weights: values that replace the initialised ones before training (not with --resume).
  ir::Bindings initial_values;
  // Called after every epoch (validation included) with the history so far as
  // history_text writes it for a .json file; true stops the training after this epoch
  // (the Python module's callbacks, docs/python.md).
  std::function<bool(const std::string& history_json)> on_epoch_end;
};

// Everything of a run that a checkpoint must restore besides the runner's values.
struct TrainState {
  int64_t step = 0;           // optimizer steps taken
  int64_t epoch = 0;          // completed epochs
  int64_t batch_in_epoch = 0; // batches of epoch `epoch` done (shuffle position)
  double loss_sum = 0;        // this epoch so far: sum of batch loss x samples
  std::vector<double> loss_parts_sum; // the same for each part of the loss
  int64_t seen = 0;
  std::vector<double> metric_state; // this epoch so far: pipeline::Metrics::state()
  pipeline::PlateauState plateau;   // reduce_on_plateau
  std::vector<EpochMetrics> history;
  double best_val_loss = 0;   // early stopping; best_epoch 0: none yet
  int64_t best_epoch = 0, wait = 0;
  ir::Bindings best;          // params of the best epoch
};

// A hash of the model's training graph: a checkpoint only resumes the model it came from.
std::string model_fingerprint(const frontend::Model& m);

// The history as CSV (a header, then a row per epoch) or, when `path` ends in .json, as
// JSON (an object of per-epoch arrays, like Keras's History.history): epoch, loss, its
// parts (`loss_parts`: "regularization_loss"), the metrics, val_loss and the validation metrics (with a validation split), lr, time.
std::string history_text(const std::string& path, const std::vector<EpochMetrics>& history,
                         const std::vector<std::string>& metrics, const std::vector<std::string>& loss_parts = {});

// Runs the training; returns the process exit status (0, or 130 after Ctrl-C).
int train(pipeline::Runner& r, const frontend::Model& m, const frontend::DataSplits& data,
          const TrainOptions& o);

} // namespace dlc::tools
