// Progress output of `dlc train`, like Keras's fit: on a terminal a live bar per epoch
// (batch k/N, loss, accuracy, samples/s, ETA) redrawn in place; otherwise nothing until
// the epoch's summary line.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace dlc::tools {

class ProgressBar {
public:
  ProgressBar(int epoch, int epochs, int64_t batches, bool live);
  // After batch k (1-based) with running means of loss and accuracy over the epoch.
  void update(int64_t k, int64_t samples_done, double loss, double accuracy);
  // Clears the live bar; returns the epoch's wall time in seconds.
  double finish();

private:
  int epoch_, epochs_;
  int64_t batches_;
  bool live_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Whether standard output is a terminal (live bars) or a file/pipe (plain lines).
bool stdout_is_terminal();

} // namespace dlc::tools
