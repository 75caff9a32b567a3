#include "tools/progress.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace dlc::tools {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

int terminal_columns(int fd) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return int(ws.ws_col);
  if (const char* env = std::getenv("COLUMNS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v < 100000) return int(v);
  }
  return 80;
}

std::string progress_line(const ProgressState& s, int columns) {
  constexpr int kMaxBar = 30, kMinBar = 10;
  const int room = std::max(columns - 1, 1);
  std::string head = fmt::format("Epoch {}/{} {:>{}}/{}", s.epoch, s.epochs, s.batch,
                                 std::to_string(s.batches).size(), s.batches);
  std::string loss = fmt::format("loss {:.4f}", s.loss), stats = s.metrics.empty() ? loss : loss + " " + s.metrics;
  std::string rate = fmt::format("{:.0f} samples/s", s.samples_per_sec), eta = fmt::format("ETA {:.0f}s", s.eta_secs);
  // The statistics from the most to the least detail.
  const std::string tails[] = {stats + " " + rate + " " + eta, stats + " " + eta, stats, loss, ""};
  auto bar_of = [&](int width) {
    int filled = s.batches ? int(int64_t(width) * s.batch / s.batches) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), '.');
    return bar;
  };
  for (const std::string& tail : tails) {
    std::string after = tail.empty() ? "" : " " + tail;
    int width = room - int(head.size() + 3 + after.size()); // "head [bar] tail"
    if (width >= kMinBar) return fmt::format("{} [{}]{}", head, bar_of(std::min(width, kMaxBar)), after);
  }
  for (const std::string& tail : tails) {
    std::string line = tail.empty() ? head : head + " " + tail;
    if (int(line.size()) <= room) return line;
  }
  return head.substr(0, size_t(room));
}

ProgressBar::ProgressBar(int epoch, int epochs, int64_t batches, bool live)
    : epoch_(epoch), epochs_(epochs), batches_(batches), live_(live),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(int64_t k, int64_t samples_done, double loss, const std::string& metrics) {
  if (!live_) return;
  auto now = std::chrono::steady_clock::now();
  // Redraw at most 20 times a second, and always for the last batch.
  if (k != batches_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  ProgressState s{epoch_, epochs_, k, batches_, loss, metrics, secs > 0 ? double(samples_done) / secs : 0,
                  k > 0 ? secs / double(k) * double(batches_ - k) : 0};
  // The width is asked at every redraw: a resized window gets a bar that fits it.
  std::string line = "\r" + progress_line(s, terminal_columns(STDOUT_FILENO)) + "\033[K";
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
