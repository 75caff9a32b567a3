// What `dlc summary` reports: per layer its output shape, parameter count and activation
// memory (the layer's output, counted once), and the totals.
#pragma once

#include "frontend/model.h"

namespace dlc::frontend {

struct LayerRow {
  std::string name, type, activation;
  std::vector<std::string> inputs; // the layers (or model inputs) it reads
  ir::Shape output;                // with the batch axis
  int64_t params = 0;
  int64_t activation_bytes = 0; // of the output, at the built batch size
};

struct InputRow {
  std::string name;
  ir::TensorType type; // with the batch axis
};

struct ModelSummary {
  std::string name;
  int64_t batch = 1;
  bool branches = false; // some layer reads more than, or other than, the layer before it
  std::vector<InputRow> inputs;
  std::vector<LayerRow> rows;
  int64_t total_params = 0, trainable_params = 0;
  // Every layer output at `batch`, each counted once: what a forward pass keeps when
  // nothing is freed, and what training keeps for the backward pass (roughly; fused
  // activations and the planner change the exact figure). Inputs are not included.
  int64_t activation_bytes = 0;
  int64_t input_bytes = 0;
  int64_t param_bytes = 0;
};

ModelSummary summarize(const BuiltModel& m);

} // namespace dlc::frontend
