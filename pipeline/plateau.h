// reduce_on_plateau (docs/training.md): Keras's ReduceLROnPlateau as a multiplier of the
// schedule's learning rate, kept by the trainer and saved in its checkpoints. The rate of
// a step is scheduled_lr(step, epoch) x multiplier.
#pragma once

#include "ir/training_spec.h"

#include <cstdint>

namespace dlc::pipeline {

struct PlateauState {
  double multiplier = 1;
  double best = 0;       // the best monitored value so far (valid when seen)
  bool seen = false;
  int64_t wait = 0;      // epochs without improvement
  int64_t cooldown = 0;  // epochs of cooldown left
};

// The end of an epoch whose monitored value is `current`, for base rate `lr` (the
// optimizer's): as Keras's on_epoch_end, with the rate lr x multiplier. When `wait`
// reaches the patience outside a cooldown and the rate is above min_lr, the rate becomes
// max(rate x factor, min_lr), the cooldown starts and `wait` restarts. Returns true when
// it reduced the rate.
bool plateau_epoch_end(const ir::PlateauSpec& p, double lr, double current, PlateauState& s);

} // namespace dlc::pipeline
