// The live progress bar fits the terminal: never wider than the columns less one, the bar
// shrinks before statistics go, and the width comes from the terminal, COLUMNS or 80.
#include "tools/progress.h"

#include <cstdlib>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

using dlc::tools::progress_line;
using dlc::tools::ProgressState;

static ProgressState state() { return {3, 10, 117, 469, 0.4321, "accuracy 0.8765", 12345, 42}; }

TEST_CASE("progress_line stays inside the terminal at every width") {
  for (int columns = 1; columns <= 200; columns++) {
    std::string line = progress_line(state(), columns);
    CAPTURE(columns);
    CAPTURE(line);
    CHECK(int(line.size()) <= std::max(columns - 1, 1));
    CHECK(!line.empty());
  }
}

TEST_CASE("progress_line shrinks the bar, then drops statistics") {
  // Wide: the full 30-cell bar and everything.
  std::string wide = progress_line(state(), 200);
  CHECK(wide == "Epoch 3/10 117/469 [=======>......................] loss 0.4321 accuracy 0.8765 12345 samples/s "
                "ETA 42s");
  // 80 columns (the old fixed line was 102 wide): samples/s goes first, a shorter bar.
  CHECK(progress_line(state(), 80) ==
        "Epoch 3/10 117/469 [=====>................] loss 0.4321 accuracy 0.8765 ETA 42s");
  // Narrower: then the ETA, the metrics, the loss; the bar keeps at least 10 cells.
  CHECK(progress_line(state(), 60) == "Epoch 3/10 117/469 [==>.......] loss 0.4321 accuracy 0.8765");
  CHECK(progress_line(state(), 50) == "Epoch 3/10 117/469 [===>............] loss 0.4321");
  CHECK(progress_line(state(), 40) == "Epoch 3/10 117/469 [====>.............]");
  // Very narrow: no bar, the epoch and batch first.
  CHECK(progress_line(state(), 31) == "Epoch 3/10 117/469 loss 0.4321");
  CHECK(progress_line(state(), 30) == "Epoch 3/10 117/469");
  CHECK(progress_line(state(), 10) == "Epoch 3/1");
  // Without metrics (a model that lists none): the loss alone, as Keras prints it.
  ProgressState plain = state();
  plain.metrics = "";
  CHECK(progress_line(plain, 200) == "Epoch 3/10 117/469 [=======>......................] loss 0.4321 12345 samples/s "
                                     "ETA 42s");
  // Several metrics go and come back together.
  ProgressState two = state();
  two.metrics = "accuracy 0.8765 auc 0.9100";
  CHECK(progress_line(two, 80) == "Epoch 3/10 117/469 [==>........] loss 0.4321 accuracy 0.8765 auc 0.9100 ETA 42s");
}

TEST_CASE("terminal_columns: not a terminal reads COLUMNS, then falls back to 80") {
  int fd = open("/dev/null", O_WRONLY);
  REQUIRE(fd >= 0);
  const char* saved = std::getenv("COLUMNS");
  std::string keep = saved ? saved : "";
  setenv("COLUMNS", "123", 1);
  CHECK(dlc::tools::terminal_columns(fd) == 123);
  setenv("COLUMNS", "wide", 1);
  CHECK(dlc::tools::terminal_columns(fd) == 80);
  unsetenv("COLUMNS");
  CHECK(dlc::tools::terminal_columns(fd) == 80);
  if (saved) setenv("COLUMNS", keep.c_str(), 1);
  close(fd);
}
