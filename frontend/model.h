// The JSON model format (docs/model-format.md): a sequential form and a graph form.
// load_model() parses and validates a file; build_model() expands its layers into an
// ir::Graph for a given batch size.
#pragma once

#include "frontend/json_reader.h"
#include "ir/graph.h"

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
};

struct LossSpec {
  std::string type;   // canonical: mse, categorical_crossentropy, sparse_categorical_crossentropy,
                      // binary_crossentropy
  std::string output; // the model output it applies to
};

struct ScheduleSpec {
  std::string type = "constant"; // constant, inverse_sqrt, step, exponential
  double step_size = 1;          // step: epochs (or steps, see docs) between decays
  double gamma = 0.1;            // step and exponential: decay factor
  std::string unit = "epoch";    // the schedule advances per "epoch" or per "step"
};

struct OptimizerSpec {
  std::string type = "sgd"; // sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, nadam
  std::map<std::string, double> hyper; // every hyper-parameter, defaults filled in (lr, beta1...)
  double weight_decay = 0;
  bool decoupled_weight_decay = false;
  double clip_norm = 0;  // 0: off
  double clip_value = 0; // 0: off
  ScheduleSpec schedule;
  double get(const std::string& k) const { return hyper.at(k); }
};

struct TrainingSpec {
  bool has_loss = false;
  LossSpec loss;
  OptimizerSpec optimizer;
  int64_t batch_size = 32;
  int64_t epochs = 1;
  std::vector<std::string> metrics; // accuracy, top_k (with k), loss
  int64_t top_k = 5;
};

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
};

struct BuiltModel {
  ir::Graph graph;
  std::vector<LayerInfo> layers;
};

// Parses and validates a model file (it is built once at batch 1 to check every shape).
Model load_model(const std::string& path);
Model load_model_text(const std::string& text, const std::string& name);

// Expands the layers into a forward (inference) graph for `batch` samples.
BuiltModel build_model(const Model& model, int64_t batch);

// The names the format accepts, for help texts and messages.
std::vector<std::string> layer_types();
std::vector<std::string> activation_names();
std::vector<std::string> loss_names();
std::vector<std::string> optimizer_names();

} // namespace dlc::frontend
