// Training through the reference interpreter: one step (evaluate the training graph in
// training mode, apply its updates) and a loop over epochs of mini-batches. Tests use it
// as the oracle of training; the JIT and emitted code run the same graph compiled.
#pragma once

#include "ir/interp/interpreter.h"
#include "passes/training.h"

#include <cstdint>
#include <vector>

namespace dlc::passes {

// Where a run stands: the persistent values (params and optimizer state, by name) and the
// counters that feed the learning-rate schedule and the dropout masks.
struct TrainState {
  ir::Bindings values;
  int64_t step = 0;  // steps taken so far
  int64_t epoch = 0; // epochs completed so far
  uint64_t seed = 0; // dropout masks
};

// Params and state from their initializers (ir::init_params), counters at zero.
TrainState init_train_state(const TrainingGraph& tg, uint64_t seed);

// One step on one batch: `batch` binds every graph input but "lr", which is set from the
// optimizer's schedule. Updates state.values, advances state.step, returns the batch loss.
double train_step(const TrainingGraph& tg, const ir::OptimizerSpec& opt, TrainState& state,
                  const ir::Bindings& batch);

// `epochs` epochs over a data set (every input but "lr", axis 0 the sample axis), in
// order, in batches of the graph's batch size; a last partial batch is dropped. Advances
// state.epoch; returns each epoch's mean batch loss.
std::vector<double> train_epochs(const TrainingGraph& tg, const ir::OptimizerSpec& opt,
                                 TrainState& state, const ir::Bindings& data, int64_t epochs);

} // namespace dlc::passes
