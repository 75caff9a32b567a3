// The reference interpreter behind the Runner interface: slow, obviously correct, and
// the oracle the JIT is tested against. Graphs are built per sample count n and cached.
#include "pipeline/runner.h"

#include "ir/error.h"
#include "passes/train_step.h"
#include "passes/training.h"

#include <algorithm>
#include <map>

namespace dlc::pipeline {

namespace {

class RefRunner : public Runner {
public:
  RefRunner(const frontend::Model& model, int64_t batch) : model_(model), batch_(batch) {
    part_names_ = passes::loss_part_names(fwd_at(batch).graph, model_.training);
    reported_ = reported_outputs(model_, fwd_at(batch).graph);
    if (model_.training.has_loss) train_at(batch);
  }

  std::string backend() const override { return "ref"; }
  int64_t batch() const override { return batch_; }
  bool can_train() const override { return model_.training.has_loss; }
  std::vector<ir::TensorType> input_types() const override {
    const ir::Graph& g = forward_.at(batch_).graph;
    std::vector<ir::TensorType> v;
    for (ir::ValueId in : g.inputs()) v.push_back(g.type(in));
    return v;
  }
  std::vector<ir::TensorType> output_types() const override {
    const ir::Graph& g = forward_.at(batch_).graph;
    std::vector<ir::TensorType> v;
    for (const std::string& name : reported_)
      for (auto& o : g.outputs())
        if (o.name == name) v.push_back(g.type(o.value));
    return v;
  }
  std::vector<ir::TensorType> target_types() const override {
    const passes::TrainingGraph& tg = train_.at(batch_);
    std::vector<ir::TensorType> v;
    for (ir::ValueId t : tg.targets) v.push_back(tg.graph.type(t));
    return v;
  }
  std::vector<std::string> output_names() const override { return reported_; }

  void init(uint64_t seed) override {
    const ir::Graph& g = can_train() ? train_.at(batch_).graph : forward_.at(batch_).graph;
    values_ = ir::init_params(g, seed);
    seed_ = seed;
  }
  uint64_t seed() const override { return seed_; }
  void set_seed(uint64_t seed) override { seed_ = seed; }
  ir::Bindings values() const override { return values_; }
  void set_values(const ir::Bindings& v) override {
    for (auto& [k, t] : v) {
      auto it = values_.find(k);
      if (it == values_.end()) throw Error(fmt::format("the model has no parameter or state '{}'", k));
      if (it->second.type != t.type)
        throw Error(fmt::format("'{}' is {}, got {}", k, it->second.type.str(), t.type.str()));
      it->second = t;
    }
  }

  double train_step(const float* x, const float* target, int64_t n, double lr, int64_t step,
                    float* outputs) override {
    const passes::TrainingGraph& tg = train_at(n);
    ir::Bindings b = bind(tg.graph, x, target, n, tg.targets);
    b[tg.graph.value(tg.lr).name] = ir::Tensor(tg.graph.type(tg.lr), std::vector<double>{lr});
    ir::EvalContext ctx;
    ctx.training = true;
    ctx.seed = seed_;
    ctx.step = uint64_t(step);
    std::vector<ir::Tensor> env = ir::evaluate(tg.graph, b, ctx);
    ir::apply_updates(tg.graph, env, values_);
    copy_output(tg.graph, env, outputs);
    keep_mask(tg, env);
    parts_.clear();
    for (ir::ValueId part : tg.parts) parts_.push_back(env[size_t(part)][0]);
    if (tg.regularization != ir::kNoValue) parts_.push_back(env[size_t(tg.regularization)][0]);
    return env[size_t(tg.loss)][0];
  }
  std::vector<std::string> loss_part_names() const override { return part_names_; }
  std::vector<double> last_loss_parts() const override { return parts_; }

  double evaluate(const float* x, const float* target, int64_t n, float* outputs) override {
    // The loss graph of the inference phase (running statistics, no dropout, no update).
    const passes::TrainingGraph& tg = loss_at(n);
    ir::Bindings b = bind(tg.graph, x, target, n, tg.targets);
    std::vector<ir::Tensor> env = ir::evaluate(tg.graph, b, {});
    ir::apply_updates(tg.graph, env, values_); // stateful layers' states only
    copy_output(tg.graph, env, outputs);
    keep_mask(tg, env);
    return env[size_t(tg.loss)][0];
  }

  const float* last_mask() const override { return mask_.empty() ? nullptr : mask_.data(); }

  void infer(const float* x, float* outputs, int64_t n) override {
    const ir::Graph& g = infer_at(n);
    std::vector<ir::Tensor> env = ir::evaluate(g, bind(g, x, nullptr, n, {}), {});
    ir::apply_updates(g, env, values_); // stateful layers' states only
    copy_output(g, env, outputs);
  }

  bool stateful() const override { return !forward_.at(batch_).graph.states().empty(); }
  void reset_states() override {
    const ir::Graph& g = forward_.at(batch_).graph;
    for (ir::ValueId s : g.states()) values_[g.value(s).name] = ir::Tensor(g.type(s), std::vector<float>(size_t(g.type(s).shape.numel()), 0.0f));
  }

private:
  const frontend::Model& model_;
  int64_t batch_;
  uint64_t seed_ = 0;
  ir::Bindings values_;
  std::map<int64_t, frontend::BuiltModel> forward_;
  std::map<int64_t, passes::TrainingGraph> train_, loss_;
  std::map<int64_t, ir::Graph> infer_;
  std::vector<std::string> part_names_;
  std::vector<std::string> reported_; // the outputs the calls write
  std::vector<double> parts_; // of the last train_step
  std::vector<float> mask_;   // of the last train_step or evaluate (empty: none)

  void keep_mask(const passes::TrainingGraph& tg, const std::vector<ir::Tensor>& env) {
    mask_.clear();
    if (tg.mask == ir::kNoValue) return;
    const ir::Tensor& m = env[size_t(tg.mask)];
    for (int64_t i = 0; i < m.numel(); i++) mask_.push_back(float(m[i]));
  }

  void check_n(int64_t n) const {
    if (n < 1 || n > batch_) throw Error(fmt::format("batch of {} samples: expected 1 to {}", n, batch_));
    if (n != batch_ && !forward_.empty() && stateful())
      throw Error(fmt::format("batch of {} samples: a model with stateful layers runs whole batches of {} (row i of a "
                              "batch continues row i of the one before)",
                              n, batch_));
  }
  const frontend::BuiltModel& fwd_at(int64_t n) {
    check_n(n);
    auto it = forward_.find(n);
    if (it == forward_.end()) it = forward_.emplace(n, frontend::build_model(model_, n)).first;
    return it->second;
  }
  const ir::Graph& infer_at(int64_t n) {
    auto it = infer_.find(n);
    if (it == infer_.end()) it = infer_.emplace(n, passes::specialize_phase(fwd_at(n).graph, false)).first;
    return it->second;
  }
  const passes::TrainingGraph& loss_at(int64_t n) {
    if (!can_train()) throw Error(fmt::format("model '{}' has no loss: it cannot be evaluated", model_.name));
    auto it = loss_.find(n);
    if (it == loss_.end()) it = loss_.emplace(n, passes::build_loss_graph(fwd_at(n).graph, model_.training)).first;
    return it->second;
  }
  const passes::TrainingGraph& train_at(int64_t n) {
    if (!can_train()) throw Error(fmt::format("model '{}' has no loss: it cannot be trained", model_.name));
    auto it = train_.find(n);
    if (it == train_.end())
      it = train_.emplace(n, passes::build_training_graph(fwd_at(n).graph, model_.training)).first;
    return it->second;
  }

  // Params/state plus the model's inputs (blocks of x) and, when given, the targets
  // (blocks of target).
  ir::Bindings bind(const ir::Graph& g, const float* x, const float* target, int64_t n,
                    const std::vector<ir::ValueId>& targets) {
    (void)n; // the graph is built for n samples
    ir::Bindings b = values_;
    auto take = [&](ir::ValueId v, const float*& from) {
      const ir::TensorType& t = g.type(v);
      b[g.value(v).name] = ir::Tensor(t, std::vector<float>(from, from + t.shape.numel()));
      from += t.shape.numel();
    };
    for (ir::ValueId in : g.inputs())
      if (std::find(targets.begin(), targets.end(), in) == targets.end() && g.value(in).name != "lr") take(in, x);
    if (target)
      for (ir::ValueId t : targets) take(t, target);
    return b;
  }

  // The reported outputs' blocks.
  void copy_output(const ir::Graph& g, const std::vector<ir::Tensor>& env, float* out) const {
    if (!out) return;
    for (const std::string& name : reported_)
      for (auto& o : g.outputs())
        if (o.name == name) {
          const ir::Tensor& t = env[size_t(o.value)];
          for (int64_t i = 0; i < t.numel(); i++) *out++ = float(t[i]);
        }
  }
};

} // namespace

std::unique_ptr<Runner> make_ref_runner(const frontend::Model& model, int64_t batch) {
  return std::make_unique<RefRunner>(model, batch);
}

std::vector<std::string> reported_outputs(const frontend::Model& model, const ir::Graph& forward) {
  std::vector<std::string> names;
  for (const ir::LossSpec& l : model.training.losses) names.push_back(l.output);
  if (names.empty()) names.push_back(forward.outputs().at(0).name);
  return names;
}

std::string predict_backend(const frontend::Model& model, int64_t samples) {
  if (samples <= kPredictFewSamples || model.inputs.size() != 1) return "ref";
  return frontend::build_model(model, 1).graph.outputs().size() == 1 ? kDefaultBackend : "ref";
}

std::unique_ptr<Runner> make_runner(const std::string& backend, const frontend::Model& model, int64_t batch) {
  if (backend == "ref") return make_ref_runner(model, batch);
  if (backend == "jit") return make_jit_runner(model, batch);
  throw Error(fmt::format("--backend: unknown backend '{}'; available: jit, ref", backend));
}

} // namespace dlc::pipeline
