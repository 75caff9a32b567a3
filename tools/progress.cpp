#include "tools/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace dlc::tools {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

ProgressBar::ProgressBar(int epoch, int epochs, int64_t batches, bool live)
    : epoch_(epoch), epochs_(epochs), batches_(batches), live_(live),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(int64_t k, int64_t samples_done, double loss, double accuracy) {
  if (!live_) return;
  auto now = std::chrono::steady_clock::now();
  // Redraw at most 20 times a second, and always for the last batch.
  if (k != batches_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? double(samples_done) / secs : 0;
  double eta = k > 0 ? secs / double(k) * double(batches_ - k) : 0;
  constexpr int kWidth = 30;
  int filled = batches_ ? int(kWidth * k / batches_) : kWidth;
  std::string bar(size_t(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(size_t(kWidth - filled - 1), '.');
  std::string line = fmt::format("\rEpoch {}/{} {:>{}}/{} [{}] loss {:.4f} accuracy {:.4f} {:.0f} samples/s ETA {:.0f}s ",
                                 epoch_, epochs_, k, std::to_string(batches_).size(), batches_, bar, loss,
                                 accuracy, rate, eta);
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

double ProgressBar::finish() {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (live_) {
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
  }
  return secs;
}

} // namespace dlc::tools
