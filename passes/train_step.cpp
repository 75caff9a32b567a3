#include "passes/train_step.h"

#include <fmt/format.h>

namespace dlc::passes {

namespace {

// Rows [start, start + n) of a tensor whose axis 0 is the sample axis.
ir::Tensor rows(const ir::Tensor& t, int64_t start, int64_t n) {
  ir::TensorType type = t.type;
  int64_t row = t.numel() / type.shape[0];
  type.shape[0] = n;
  auto first = t.data.begin() + start * row;
  return ir::Tensor(type, std::vector<double>(first, first + n * row));
}

int64_t batch_size(const TrainingGraph& tg) {
  const ir::Shape& s = tg.graph.type(tg.targets.at(0)).shape;
  if (s.rank() == 0) throw Error("the training graph's target has no batch axis");
  return s[0];
}

} // namespace

TrainState init_train_state(const TrainingGraph& tg, uint64_t seed) {
  TrainState s;
  s.values = ir::init_params(tg.graph, seed);
  s.seed = seed;
  return s;
}

double train_step(const TrainingGraph& tg, const ir::OptimizerSpec& opt, TrainState& state,
                  const ir::Bindings& batch) {
  ir::Bindings b = state.values;
  for (auto& [name, t] : batch) b[name] = t;
  const std::string& lr_name = tg.graph.value(tg.lr).name;
  b[lr_name] = ir::Tensor(tg.graph.type(tg.lr), std::vector<double>{scheduled_lr(opt, state.step, state.epoch)});
  ir::EvalContext ctx;
  ctx.training = true;
  ctx.seed = state.seed;
  ctx.step = uint64_t(state.step);
  std::vector<ir::Tensor> env = ir::evaluate(tg.graph, b, ctx);
  ir::apply_updates(tg.graph, env, state.values);
  state.step++;
  return env[size_t(tg.loss)][0];
}

std::vector<double> train_epochs(const TrainingGraph& tg, const ir::OptimizerSpec& opt,
                                 TrainState& state, const ir::Bindings& data, int64_t epochs) {
  if (data.empty()) throw Error("train_epochs: no data");
  int64_t n = data.begin()->second.shape()[0], batch = batch_size(tg);
  for (auto& [name, t] : data)
    if (t.shape().rank() == 0 || t.shape()[0] != n)
      throw Error(fmt::format("train_epochs: '{}' does not have {} samples", name, n));
  if (n < batch) throw Error(fmt::format("train_epochs: {} samples are fewer than one batch of {}", n, batch));
  std::vector<double> losses;
  for (int64_t e = 0; e < epochs; e++) {
    double sum = 0;
    int64_t steps = n / batch;
    for (int64_t k = 0; k < steps; k++) {
      ir::Bindings b;
      for (auto& [name, t] : data) b[name] = rows(t, k * batch, batch);
      sum += train_step(tg, opt, state, b);
    }
    losses.push_back(sum / double(steps));
    state.epoch++;
  }
  return losses;
}

} // namespace dlc::passes
