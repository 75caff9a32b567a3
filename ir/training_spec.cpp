#include "ir/training_spec.h"

#include "ir/types.h"

#include <fmt/format.h>

namespace dlc::ir {

std::string loss_misfit(const std::string& loss, const TensorType& out) {
  if (!is_float(out.dtype)) return "the output must be a float tensor";
  bool categorical = loss == "categorical_crossentropy" || loss == "sparse_categorical_crossentropy";
  int rank = out.shape.rank();
  if (categorical && rank != 2 && rank != 3)
    return "it needs an output of shape [batch, classes] or [batch, steps, classes] (add a flatten layer before "
           "the dense layer that makes the classes)";
  if (categorical && out.shape[rank - 1] < 2) return "it needs at least 2 classes (use binary_crossentropy for one unit)";
  return "";
}

std::string metric_misfit(const MetricSpec& m, const TensorType& out) {
  int64_t last = out.shape.rank() > 1 ? out.shape[out.shape.rank() - 1] : 1;
  if (m.name == "top_k_categorical_accuracy" && last < 2)
    return "it ranks classes: it needs an output of at least 2 classes";
  if ((m.name == "precision" || m.name == "recall" || m.name == "auc") && last != 1)
    return fmt::format("it is a metric of binary tasks: it needs an output of one unit (sigmoid), this one has {} "
                       "per position",
                       last);
  return "";
}

std::vector<std::string> metric_names(const TrainingSpec& spec) {
  std::vector<std::string> names;
  if (spec.losses.size() <= 1) {
    for (const MetricSpec& m : spec.metrics) names.push_back(m.name);
    return names;
  }
  for (const LossSpec& l : spec.losses)
    for (const MetricSpec& m : spec.metrics) names.push_back(l.output + "_" + m.name);
  return names;
}

} // namespace dlc::ir
