// What a model file says about training: loss, optimizer with its regularisers and
// learning-rate schedule, batch size, epochs, metrics. Plain data: the frontend fills it
// from JSON, passes/ builds the training graph from it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dlc::ir {

struct LossSpec {
  std::string type;   // canonical: mse, categorical_crossentropy, sparse_categorical_crossentropy,
                      // binary_crossentropy
  std::string output; // the model output it applies to
  double weight = 1;  // its factor in the total loss (Keras's loss_weights)
  // Keras's from_logits: the output holds logits (a PyTorch model's last Linear); the
  // loss applies softmax (sigmoid for binary cross-entropy) to them itself, stably.
  bool from_logits = false;
};

struct ScheduleSpec {
  std::string type = "constant"; // constant, inverse_sqrt, inverse_time, step, exponential, cosine, piecewise
  double step_size = 1;          // step: epochs (or steps, see docs) between decays
  double gamma = 0.1;            // step and exponential: decay factor
  std::string unit = "epoch";    // the schedule advances per "epoch" or per "step"
  double decay_rate = 1;         // inverse_time: k in η / (1 + k·t / decay_steps)
  double decay_steps = 1;        // inverse_time: as above; cosine: the (first) period T
  double alpha = 0;              // cosine: the floor, a fraction of η
  bool restarts = false;         // cosine: restart after each period (SGDR)
  double t_mul = 2, m_mul = 1;   // cosine with restarts: period and height factors per restart
  std::vector<double> boundaries, values; // piecewise: values[i] while t <= boundaries[i]
  double warmup = 0;             // linear warm-up over this many units before the schedule
};

// Keras's ReduceLROnPlateau, kept by the trainer (pipeline/plateau.h): the learning rate of
// every step is the schedule's times a multiplier that this lowers when the monitored
// value stops improving.
struct PlateauSpec {
  bool enabled = false;
  std::string monitor = "val_loss"; // "loss", "val_loss", a metric or "val_" + a metric
  bool maximize = false;            // from "mode" ("auto": the metric's direction)
  double factor = 0.1;              // in (0, 1)
  int64_t patience = 10;            // epochs without improvement before a reduction
  double min_delta = 1e-4;          // an improvement is larger than this
  int64_t cooldown = 0;             // epochs after a reduction before counting again
  double min_lr = 0;                // floor of the reduced base rate
  std::string location;             // where the model file sets it, for messages
};

struct OptimizerSpec {
  std::string type = "sgd"; // sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw, nadam
  std::map<std::string, double> hyper; // every hyper-parameter, defaults filled in (lr, beta1...);
                                       // switches (nesterov, centered, amsgrad) as 1 or 0
  double weight_decay = 0;
  bool decoupled_weight_decay = false;
  double clip_norm = 0;  // 0: off
  double clip_value = 0; // 0: off
  ScheduleSpec schedule;
  PlateauSpec plateau; // "reduce_on_plateau"
  double get(const std::string& k) const { return hyper.at(k); }
};

// A metric to report (docs/model-format.md): canonical names accuracy,
// top_k_categorical_accuracy (with k), mse, mae, precision, recall, auc.
struct MetricSpec {
  std::string name;
  int64_t k = 5;           // top_k_categorical_accuracy
  std::string location;    // where the model file names it, for messages
  bool operator==(const MetricSpec& o) const { return name == o.name && k == o.k; }
};

struct TrainingSpec {
  bool has_loss = false;
  // One loss per trained output, in the order of the model's outputs (several: Keras's
  // compile(loss={...}, loss_weights={...}); the total is the weighted sum). The metrics
  // apply to every one of these outputs.
  std::vector<LossSpec> losses;
  OptimizerSpec optimizer;
  int64_t batch_size = 32;
  int64_t epochs = 1;
  std::vector<MetricSpec> metrics; // in the model file's order, "loss" left out
};

} // namespace dlc::ir

namespace dlc::ir {

struct TensorType;

// Why `loss` cannot apply to an output of type `out` (batch axis first), or "" when it
// can: the one rule that model loading (with the loss's location) and the training graph
// (passes/training.cpp) both apply.
std::string loss_misfit(const std::string& loss, const TensorType& out);

// The metrics' names as the history reports them (Keras's): each metric's name with one
// loss, "<output>_<metric>" for every trained output (loss order) with several.
std::vector<std::string> metric_names(const TrainingSpec& spec);

// Why a metric cannot be computed on an output of type `out`, or "" when it can.
std::string metric_misfit(const MetricSpec& m, const TensorType& out);

} // namespace dlc::ir
