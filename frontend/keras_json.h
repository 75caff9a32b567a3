// Keras's own model JSON (`model.to_json()`, Keras 2.x / tf.keras 2.x: Sequential and
// Functional, `class_name`/`config`, `batch_input_shape`, `inbound_nodes` as nested
// lists) read into dlc's model format (docs/model-format.md, "Keras's model JSON"). The
// translation maps Keras's names, defaults and activations exactly and refuses what dlc
// would compute differently, listing every such layer of the file at once.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dlc::frontend {

struct KerasModel {
  std::string json; // the dlc model JSON
  // Normalisation layers whose Keras `axis` is a position (Keras 2 saves [3] for an NHWC
  // image): it must be the last axis of the layer's input, checked once the model is built.
  std::vector<std::pair<std::string, int64_t>> norm_axes;
};

// The dlc model of a Keras model JSON (frontend::load_model calls this for a file whose
// root has "class_name" and "config" and no "layers"); throws dlc::Error naming `path`, the layer and the
// reason (every unsupported layer of the file in one error).
KerasModel keras_to_dlc(const std::string& text, const std::string& path);

} // namespace dlc::frontend
