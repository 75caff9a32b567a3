// The training graph: forward + loss + backward + optimizer update, in one ir::Graph so
// that every later pass and both backends see all of it.
#pragma once

#include "ir/graph.h"
#include "ir/training_spec.h"
#include "runtime/schedule.h"

#include <cstdint>
#include <vector>

namespace dlc::passes {

struct ParamGrad {
  ir::ValueId param;
  ir::ValueId grad;
};

struct TrainingGraph {
  ir::Graph graph;
  ir::ValueId loss = ir::kNoValue;   // scalar: the batch-mean loss
  // One input per loss (spec.losses' order), named by target_name: one-hot/values, or
  // integer labels.
  std::vector<ir::ValueId> targets;
  ir::ValueId lr = ir::kNoValue;     // input "lr": f32[] learning rate of this step
  // Output "regularization_loss": the kernel/bias regularizers' part of `loss` (no value
  // without regularizers; see loss_part_names).
  ir::ValueId regularization = ir::kNoValue;
  // Output "loss_mask": the mask of the loss's output [batch, T] when it has one (its
  // padded steps are left out of the loss; the metrics leave them out too).
  ir::ValueId mask = ir::kNoValue;
  // With several losses: each output's unweighted loss, output "loss.<output>" (the
  // history's "<output>_loss"), in spec.losses' order; empty with one loss.
  std::vector<ir::ValueId> parts;
  std::vector<ir::ValueId> input_grads; // build_input_gradient_graph only
  std::vector<ParamGrad> grads;      // one per trainable parameter
};

// Builds the training graph of a forward (inference) graph. Throws dlc::Error when the
// spec has no loss or the loss does not fit the output it applies to.
TrainingGraph build_training_graph(const ir::Graph& forward, const ir::TrainingSpec& spec);

// The parts of the loss a training graph of `forward` reports besides the whole (as
// Keras's History names them): "<output>_loss" per output when there are several losses,
// then "regularization_loss" when a parameter has a regularizer.
std::vector<std::string> loss_part_names(const ir::Graph& forward, const ir::TrainingSpec& spec);

// The graph input that holds the targets of loss i: "target" when the model has one loss,
// "target.<output>" when it has several.
std::string target_name(const ir::TrainingSpec& spec, size_t i);

// The forward graph with the target inputs (target_name) and the loss appended (output "loss"), without
// backward or update: `grads` is empty and `lr` is ir::kNoValue. `training`: the phase
// the graph is specialised to (specialize_phase): false for evaluation (validation
// loss), true for gradient checks and build_training_graph, which starts from it.
// Throws like build_training_graph.
TrainingGraph build_loss_graph(const ir::Graph& forward, const ir::TrainingSpec& spec, bool training = false);

// The loss graph of evaluation (no dropout, moving statistics, nothing updated) with the
// gradient of the loss with respect to every f32 model input appended as output
// "<input>.grad" (input_grad_name), of the input's type: what saliency maps, adversarial
// examples and a GAN's generator step need of a model. `grads` is empty; `input_grads`
// holds the gradients in the order of the model's f32 inputs (zero for token ids, which
// an embedding reads without a gradient). Throws dlc::Error when the model has no loss.
TrainingGraph build_input_gradient_graph(const ir::Graph& forward, const ir::TrainingSpec& spec);
std::string input_grad_name(const std::string& input);

// A forward graph for one phase of a run. Layers whose behaviour differs between
// training and inference (batch normalisation) build both forms joined by `phase_select`
// and record training-time state changes (running statistics) as graph updates; this
// keeps the `train` operands and the updates (training) or the `infer` operands and only
// the updates of graph state (inference, evaluation: a stateful recurrent layer carries
// its state across calls in every phase). Every program is compiled from a specialised
// graph, so no program computes the other phase's values.
ir::Graph specialize_phase(const ir::Graph& forward, bool training);

// Appends gradient clipping (by global norm, by value), weight decay (coupled or
// decoupled) and the optimizer's update of every parameter: adds the optimizer's state
// (ir::Graph::add_state) and one graph update per parameter and state.
void append_optimizer(ir::Graph& g, const ir::OptimizerSpec& opt, const std::vector<ParamGrad>& grads,
                      ir::ValueId lr);

// The learning rate of a step under the optimizer's schedule (computed by the host each
// step and fed to the graph's "lr" input).
double scheduled_lr(const ir::OptimizerSpec& opt, int64_t step, int64_t epoch);
// The optimizer's schedule in the runtime's form (runtime/schedule.h), the one formula
// that dlc's trainer and emitted code both evaluate; its arrays point into `opt`.
dlc_rt::Schedule runtime_schedule(const ir::OptimizerSpec& opt);

} // namespace dlc::passes
