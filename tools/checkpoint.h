// Training checkpoints: one safetensors file DIR/checkpoint.safetensors holding the
// parameters and optimizer state (as the runner names them), the early-stopping best
// parameters ("best/NAME"), and in its metadata the step, epoch, shuffle position, seed,
// batch size, the epoch's running sums (loss and metrics), the history, the
// reduce_on_plateau state and the model's fingerprint. Doubles
// are stored in hexadecimal so that a resumed run continues bit for bit. The file is
// replaced atomically (temporary file, fsync, rename): a crash never damages it.
#pragma once

#include "tools/trainer.h"

#include <string>

namespace dlc::tools {

struct CheckpointInfo {
  std::string fingerprint, model;
  uint64_t seed = 0;
  int64_t batch = 0, samples = 0; // batch size and training samples it was made with
  int64_t epochs = 0;             // the run's planned total
  std::vector<std::string> metrics; // the metrics its history and running sums hold
  std::vector<std::string> loss_parts{}; // the parts of the loss its history and sums hold
};

std::string checkpoint_path(const std::string& dir);

// Creates DIR if needed and checks that files can be written there.
void prepare_checkpoint_dir(const std::string& dir);

void save_checkpoint(const std::string& dir, const CheckpointInfo& info, const ir::Bindings& values,
                     const TrainState& st);

// The run settings a checkpoint was made with (defaults for a resumed run).
CheckpointInfo peek_checkpoint(const std::string& dir);

// Reads DIR's checkpoint; throws dlc::Error naming the file when it is missing, damaged,
// or (compared with `expected_fingerprint`) of another model. `values` receives the
// runner's tensors, typed as `like` has them.
void load_checkpoint(const std::string& dir, const std::string& expected_fingerprint, const ir::Bindings& like,
                     CheckpointInfo& info, ir::Bindings& values, TrainState& st);

} // namespace dlc::tools
