// Parameter values in safetensors files, named as the model's parameters are
// ("dense_1.kernel", "conv2d_1.bias"; see docs/model-format.md).
#pragma once

#include "frontend/model.h"
#include "ir/graph.h"
#include "ir/interp/interpreter.h"

#include <string>

namespace dlc::frontend {

// What load_weights took from a file and what it left (transfer learning, issue #19).
struct WeightsReport {
  std::vector<std::string> loaded;  // parameters (and recurrent states) given by the file
  std::vector<std::string> missing; // parameters the file lacks (partial: they keep their initial values)
  std::vector<std::string> ignored; // partial: "name (why)" of tensors that fit no parameter
  int64_t optimizer_state = 0;      // a training checkpoint's optimizer tensors, skipped
  // "loaded 6 tensors; initialised 2 ...; ignored 1 ...; skipped 4 optimizer-state tensors".
  std::string text() const;
};

// Loads the parameters of `g` from a safetensors file (or Keras's HDF5 weights, ".h5":
// frontend/keras_h5.h), by name. A training checkpoint's
// optimizer state ("<param>.<slot>", "opt.*": dlc train's and the emitted net_save's) is
// skipped and counted; graph state of g (a stateful layer's carried states) is loaded
// when present. Strict (the default): every parameter must be in the file with its shape,
// and every other tensor is an error. `partial`: a parameter the file lacks keeps its
// initial value, and a tensor of another name or shape is ignored; the report says which.
// Errors name the file and the tensor: missing parameters, unexpected tensors, shape
// mismatches, truncated data.
ir::Bindings load_weights(const std::string& path, const ir::Graph& g, bool partial = false,
                          WeightsReport* report = nullptr);

// The parameters a model starts from without a weights file: the values the file itself
// carries (an ONNX model's), else the initialisers drawn from `seed`.
ir::Bindings initial_values(const Model& m, const ir::Graph& g, uint64_t seed);

// Writes the graph's parameters (and optimizer state, when `with_state`) atomically.
void save_weights(const std::string& path, const ir::Graph& g, const ir::Bindings& values,
                  bool with_state = false);

// Model input from an NPY file: an array of shape [n, ...sample] (or [...sample] for one
// sample) becomes a tensor with a batch axis, its values converted as dlc train and eval
// convert theirs (model_input_values: 8-bit images scaled to [0, 1], NaN and infinity
// refused). Errors name the file and both shapes, or the sample.
ir::Tensor input_from_npy(const std::string& path, const InputSpec& input);

} // namespace dlc::frontend
