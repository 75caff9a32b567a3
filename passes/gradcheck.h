// Gradient checks: the analytic gradients of passes/autodiff, evaluated by the reference
// interpreter in double precision, against central finite differences of the loss, also
// in double precision (docs/autodiff.md).
#pragma once

#include "ir/graph.h"
#include "ir/interp/interpreter.h"
#include "ir/training_spec.h"

#include <string>
#include <vector>

namespace dlc::passes {

struct GradCheckOptions {
  double eps = 1e-6;          // finite-difference step
  double tol = 1e-4;          // largest accepted relative error
  double floor = 1e-4;        // relative errors are taken against max(|analytic|, |numeric|, floor)
  int64_t max_entries = 24;   // entries checked per value; larger values are sampled
  double budget = 1e10;       // estimated multiply-adds the finite differences may spend
  uint64_t seed = 0;          // picks the sampled entries (and, for models, the data)
  ir::EvalContext eval{true, ir::Precision::f64, 0, 0}; // training mode, fixed step: one dropout mask
};

struct ValueCheck {
  std::string name;
  ir::TensorType type;
  int64_t checked = 0;
  int64_t skipped = 0;      // entries next to a kink of the loss (see check_gradients)
  int64_t over_budget = 0;  // sampled entries left unprobed for lack of budget
  double worst = 0;         // worst relative error
  int64_t worst_index = -1; // flat index of that entry
  double analytic = 0, numeric = 0; // its two gradients
};

struct GradCheckResult {
  double loss = 0;
  std::vector<ValueCheck> values;
  double worst() const;
  const ValueCheck* first_failure(double tol) const; // nullptr when every value passes
};

// Checks d loss / d wrt for float values `wrt` (inputs or params, bound in `bindings`) of
// graph `g` with scalar `loss`. An entry whose one-sided differences disagree by more
// than its error lies next to a kink (relu at 0, a max-pool tie): there the central
// difference measures neither side's slope, so the entry is counted as skipped.
// Probes re-evaluate only what depends on the perturbed value; when their total cost
// would exceed opt.budget, the cheapest (latest) values are probed first and the entries
// left out are counted in over_budget.
GradCheckResult check_gradients(const ir::Graph& g, ir::ValueId loss, const std::vector<ir::ValueId>& wrt,
                                const ir::Bindings& bindings, const GradCheckOptions& opt);

// The check of a model: its loss graph (passes/training.h, built from `forward` at its
// batch size) with random inputs and targets and initialised parameters drawn from
// opt.seed, w.r.t. every trainable parameter.
GradCheckResult check_model_gradients(const ir::Graph& forward, const ir::TrainingSpec& spec,
                                      const GradCheckOptions& opt);

} // namespace dlc::passes
