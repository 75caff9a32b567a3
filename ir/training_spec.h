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

struct OptimizerSpec {
  std::string type = "sgd"; // sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw, nadam
  std::map<std::string, double> hyper; // every hyper-parameter, defaults filled in (lr, beta1...);
                                       // switches (nesterov, centered, amsgrad) as 1 or 0
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

} // namespace dlc::ir
