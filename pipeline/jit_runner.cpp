// The LLVM JIT behind the Runner interface: a thin adapter over JitModel. It converts
// class ids (floats at the Runner boundary) to the i32 labels a sparse loss reads, and
// gives the model's other outputs scratch space.
#include "ir/error.h"
#include "pipeline/pipeline.h"
#include "passes/training.h"
#include "pipeline/runner.h"

#include <algorithm>

namespace dlc::pipeline {

namespace {

class JitRunner : public Runner {
public:
  JitRunner(const frontend::Model& model, int64_t batch)
      : jit_(jit_source(model, batch)) {
    ir::Graph forward = frontend::build_model(model, 1).graph;
    part_names_ = passes::loss_part_names(forward, model.training);
    for (const std::string& name : reported_outputs(model, forward))
      for (size_t k = 0; k < jit_.outputs().size(); k++)
        if (jit_.outputs()[k].name == name) reported_.push_back(k);
    for (auto& o : jit_.outputs()) scratch_.emplace_back(size_t(o.type.shape.numel()));
    if (jit_.can_train())
      for (size_t i = 0; i < model.training.losses.size(); i++)
        part_outputs_.push_back(model.training.losses.size() > 1 ? "loss." + model.training.losses[i].output : "");
  }

  std::string backend() const override { return "jit"; }
  int64_t batch() const override { return jit_.batch(); }
  bool can_train() const override { return jit_.can_train(); }
  std::vector<ir::TensorType> input_types() const override {
    std::vector<ir::TensorType> v;
    for (auto& t : jit_.inputs()) v.push_back(t.type);
    return v;
  }
  std::vector<ir::TensorType> output_types() const override {
    std::vector<ir::TensorType> v;
    for (size_t k : reported_) v.push_back(jit_.outputs()[k].type);
    return v;
  }
  std::vector<ir::TensorType> target_types() const override {
    std::vector<ir::TensorType> v;
    for (auto& t : jit_.targets()) v.push_back(t.type);
    return v;
  }
  std::vector<std::string> output_names() const override {
    std::vector<std::string> v;
    for (size_t k : reported_) v.push_back(jit_.outputs()[k].name);
    return v;
  }
  void init(uint64_t seed) override { jit_.init(seed); }
  uint64_t seed() const override { return jit_.seed(); }
  void set_seed(uint64_t seed) override { jit_.set_seed(seed); }
  ir::Bindings values() const override { return jit_.values(); }
  void set_values(const ir::Bindings& v) override { jit_.set_values(v); }
  void prepare(bool training) override {
    jit_.compile_inference();
    if (training && jit_.can_train()) jit_.compile_training();
  }
  double compile_ms() const override { return jit_.compile_ms() + jit_.pipeline_ms(); }

  double train_step(const float* x, const float* target, int64_t n, double lr, int64_t step,
                    float* outputs) override {
    std::vector<void*> out = outs(n);
    double loss = jit_.train_step(ins(x, n), targets(target, n), n, float(lr), step, out);
    copy_reported(out, outputs, n);
    mask_ = jit_.loss_mask(n);
    parts_.clear();
    for (const std::string& name : part_outputs_)
      if (!name.empty()) parts_.push_back(jit_.training_scalar(name));
    for (const std::string& name : part_names_)
      if (name == "regularization_loss") parts_.push_back(jit_.training_scalar(name));
    return loss;
  }
  std::vector<std::string> loss_part_names() const override { return part_names_; }
  std::vector<double> last_loss_parts() const override { return parts_; }
  double evaluate(const float* x, const float* target, int64_t n, float* outputs) override {
    std::vector<void*> out = outs(n);
    double loss = jit_.evaluate(ins(x, n), targets(target, n), n, out);
    copy_reported(out, outputs, n);
    mask_ = jit_.loss_mask(n);
    return loss;
  }
  const float* last_mask() const override { return mask_.empty() ? nullptr : mask_.data(); }
  void infer(const float* x, float* outputs, int64_t n) override {
    std::vector<void*> out = outs(n);
    jit_.infer(ins(x, n), out, n);
    copy_reported(out, outputs, n);
  }
  bool stateful() const override { return !jit_.recurrent_states().empty(); }
  void reset_states() override { jit_.reset_states(); }

private:
  codegen::JitModel jit_;
  std::vector<size_t> reported_;            // indices into jit_.outputs()
  std::vector<std::vector<float>> scratch_; // per model output
  std::vector<std::vector<int32_t>> labels_; // per target
  std::vector<std::string> part_names_;
  std::vector<std::string> part_outputs_; // per loss: its output "loss.<output>" ("" with one loss)
  std::vector<double> parts_; // of the last train_step
  std::vector<float> mask_;   // of the last train_step or evaluate (empty: none)

  std::vector<const void*> ins(const float* x, int64_t n) const {
    std::vector<const void*> v;
    for (auto& t : jit_.inputs()) {
      v.push_back(x);
      x += n * per_sample(t.type);
    }
    return v;
  }
  std::vector<const void*> targets(const float* target, int64_t n) {
    const std::vector<codegen::TensorSpec>& specs = jit_.targets();
    labels_.resize(specs.size());
    std::vector<const void*> v;
    for (size_t k = 0; k < specs.size(); k++) {
      int64_t count = n * per_sample(specs[k].type);
      if (ir::is_integer(specs[k].type.dtype)) {
        labels_[k].resize(size_t(count));
        for (int64_t i = 0; i < count; i++) labels_[k][size_t(i)] = int32_t(target[i]);
        v.push_back(labels_[k].data());
      } else {
        v.push_back(target);
      }
      target += count;
    }
    return v;
  }
  std::vector<void*> outs(int64_t) {
    std::vector<void*> v;
    for (auto& s : scratch_) v.push_back(s.data());
    return v;
  }
  void copy_reported(const std::vector<void*>& out, float* dst, int64_t n) const {
    if (!dst) return;
    for (size_t k : reported_) {
      int64_t count = n * per_sample(jit_.outputs()[k].type);
      std::copy_n(static_cast<const float*>(out[k]), count, dst);
      dst += count;
    }
  }
};

} // namespace

std::unique_ptr<Runner> make_jit_runner(const frontend::Model& model, int64_t batch) {
  return std::make_unique<JitRunner>(model, batch);
}

} // namespace dlc::pipeline
