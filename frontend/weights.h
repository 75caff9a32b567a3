// Parameter values in safetensors files, named as the model's parameters are
// ("dense_1.kernel", "conv2d_1.bias"; see docs/model-format.md).
#pragma once

#include "frontend/model.h"
#include "ir/graph.h"
#include "ir/interp/interpreter.h"

#include <string>

namespace dlc::frontend {

// Loads every parameter of `g` from a safetensors file. Errors name the file and the
// tensor: missing parameters, unexpected tensors, shape mismatches, truncated data.
ir::Bindings load_weights(const std::string& path, const ir::Graph& g);

// Writes the graph's parameters (and optimizer state, when `with_state`) atomically.
void save_weights(const std::string& path, const ir::Graph& g, const ir::Bindings& values,
                  bool with_state = false);

// Model input from an NPY file: an array of shape [n, ...sample] (or [...sample] for one
// sample) becomes a tensor with a batch axis, its values converted as dlc train and eval
// convert theirs (model_input_values: 8-bit images scaled to [0, 1], NaN and infinity
// refused). Errors name the file and both shapes, or the sample.
ir::Tensor input_from_npy(const std::string& path, const InputSpec& input);

} // namespace dlc::frontend
