// What `dlc summary` reports: per layer its output shape, parameter count and activation
// memory (the layer's output, counted once), and the totals.
#pragma once

#include "frontend/model.h"

namespace dlc::frontend {

struct LayerRow {
  std::string name, type, activation;
  ir::Shape output; // with the batch axis
  int64_t params = 0;
  int64_t activation_bytes = 0; // of the output, at the built batch size
};

struct ModelSummary {
  std::string name;
  int64_t batch = 1;
  std::vector<LayerRow> rows;
  int64_t total_params = 0, trainable_params = 0;
  int64_t activation_bytes = 0; // all layer outputs at `batch`
  int64_t input_bytes = 0;
  int64_t param_bytes = 0;
};

ModelSummary summarize(const BuiltModel& m);

} // namespace dlc::frontend
