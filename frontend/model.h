// The JSON model format (docs/model-format.md): a sequential form and a graph form.
// load_model() parses and validates a file; build_model() expands its layers into an
// ir::Graph for a given batch size.
#pragma once

#include "frontend/json_reader.h"
#include "ir/graph.h"
#include "ir/interp/tensor.h"
#include "ir/training_spec.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dlc::frontend {

// One layer of the model as built: what `dlc summary` reports.
struct LayerInfo {
  std::string name;
  std::string type;
  std::vector<std::string> inputs; // names of the layers (or model inputs) it reads
  ir::ValueId output = ir::kNoValue;
  std::vector<ir::ValueId> params;
  std::string activation; // "" when the layer has none
  // Values besides `output` that layers and the model's outputs name "<layer>.<name>": a
  // recurrent layer's states with return_state ("h", "c").
  std::vector<std::pair<std::string, ir::ValueId>> extra_outputs;
  ir::ValueId mask = ir::kNoValue; // the output's mask (LayerCtx::mask_handled)
};

using ir::LossSpec;
using ir::MetricSpec;
using ir::PlateauSpec;
using ir::OptimizerSpec;
using ir::ScheduleSpec;
using ir::TrainingSpec;

struct InputSpec {
  std::string name;
  ir::DType dtype = ir::DType::f32;
  ir::Shape shape; // without the batch axis
};

struct Model {
  std::shared_ptr<JsonDoc> doc;
  std::string name;
  std::vector<InputSpec> inputs;
  TrainingSpec training;
  // The parameter values the model file itself carries, by name (an ONNX file's
  // initializers, in dlc's layout); null for dlc's and Keras's JSON. Commands use them
  // when no --weights is given.
  std::shared_ptr<const std::map<std::string, ir::Tensor>> weights;

  // The file the model came from (for messages).
  const std::string& source_name() const;
};

struct BuiltModel {
  ir::Graph graph;
  std::vector<LayerInfo> layers;
};

// Parses and validates a model file (it is built once at batch 1 to check every shape):
// dlc's format, Keras's model JSON (frontend/keras_json.h) or an ONNX file (".onnx",
// frontend/onnx_import.h), which are translated first.
Model load_model(const std::string& path);
Model load_model_text(const std::string& text, const std::string& name);
struct OnnxModel;
// The model of a translated ONNX file (frontend/onnx_import.h), with its parameters.
Model model_of_onnx(const OnnxModel& o, const std::string& path);

// `m` with the training sections (loss, loss_weights, optimizer, batch_size, epochs,
// metrics) of `doc` instead of its own: a JSON object with only those members, from a
// file (`--training FILE.json`) or built from options (`--loss`, `--optimizer`). How an
// imported model (ONNX, Keras) is fine-tuned without editing it. Errors are located in doc.
Model with_training(Model m, std::shared_ptr<JsonDoc> doc);

// Expands the layers into a forward (inference) graph for `batch` samples.
BuiltModel build_model(const Model& model, int64_t batch);

// The names the format accepts, for help texts and messages.
std::vector<std::string> layer_types();
std::vector<std::string> activation_names();
// The op of the table an activation name stands for ("swish": "silu").
std::string activation_op(const std::string& activation);
std::vector<std::string> loss_names();
std::vector<std::string> optimizer_names();

} // namespace dlc::frontend
