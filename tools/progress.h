// Progress output of `dlc train`, like Keras's fit: on a terminal a live bar per epoch
// (batch k/N, loss, the model's metrics, samples/s, ETA) redrawn in place and fitted to the
// terminal's width; otherwise nothing until the epoch's summary line, so that a log file
// or a pipe gets one line per epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace dlc::tools {

class ProgressBar {
public:
  ProgressBar(int epoch, int epochs, int64_t batches, bool live);
  // After batch k (1-based) with the running mean of the loss over the epoch and the
  // model's metrics so far ("accuracy 0.9000 ...", "" without metrics).
  void update(int64_t k, int64_t samples_done, double loss, const std::string& metrics);
  // Clears the live bar; returns the epoch's wall time in seconds.
  double finish();

private:
  int epoch_, epochs_;
  int64_t batches_;
  bool live_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// What one redraw of the bar shows.
struct ProgressState {
  int epoch = 0, epochs = 0;
  int64_t batch = 0, batches = 0; // batch k of N, 1-based
  double loss = 0;
  std::string metrics; // "accuracy 0.9000 ...", "" without metrics
  double samples_per_sec = 0, eta_secs = 0;
};

// The bar's text for a terminal `columns` wide, at most columns - 1 characters (a line that
// fills the last column wraps on some terminals, and every redraw would scroll): the bar
// shrinks from 30 to 10 cells, then samples/s, the ETA, the metrics and the loss are left
// out in that order, then the bar; what still does not fit is cut.
std::string progress_line(const ProgressState& s, int columns);

// The width of the terminal on file descriptor `fd`: its window size (TIOCGWINSZ), else
// the COLUMNS environment variable, else 80.
int terminal_columns(int fd);

// Whether standard output is a terminal (live bars) or a file/pipe (plain lines).
bool stdout_is_terminal();

} // namespace dlc::tools
