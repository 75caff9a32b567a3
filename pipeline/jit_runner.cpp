// The LLVM JIT behind the Runner interface: a thin adapter over JitModel. It converts
// class ids (floats at the Runner boundary) to the i32 labels a sparse loss reads, and
// gives the model's other outputs scratch space.
#include "ir/error.h"
#include "pipeline/pipeline.h"
#include "passes/training.h"
#include "pipeline/runner.h"

namespace dlc::pipeline {

namespace {

class JitRunner : public Runner {
public:
  JitRunner(const frontend::Model& model, int64_t batch)
      : jit_(jit_source(model, batch)) {
    if (model.inputs.size() != 1)
      throw Error(fmt::format("model '{}' has {} inputs; this backend drives single-input models", model.name,
                              model.inputs.size()));
    for (auto& o : jit_.outputs()) scratch_.emplace_back(size_t(o.type.shape.numel()));
    part_names_ = passes::loss_part_names(frontend::build_model(model, 1).graph);
  }

  std::string backend() const override { return "jit"; }
  int64_t batch() const override { return jit_.batch(); }
  bool can_train() const override { return jit_.can_train(); }
  ir::TensorType output_type() const override { return jit_.outputs()[0].type; }
  ir::TensorType target_type() const override { return jit_.target().type; }
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
    double loss = jit_.train_step({x}, target_ptr(target, n), n, float(lr), step, outs(outputs));
    mask_ = jit_.loss_mask(n);
    parts_.clear();
    for (const std::string& name : part_names_) parts_.push_back(jit_.training_scalar(name));
    return loss;
  }
  std::vector<std::string> loss_part_names() const override { return part_names_; }
  std::vector<double> last_loss_parts() const override { return parts_; }
  double evaluate(const float* x, const float* target, int64_t n, float* outputs) override {
    double loss = jit_.evaluate({x}, target_ptr(target, n), n, outs(outputs));
    mask_ = jit_.loss_mask(n);
    return loss;
  }
  const float* last_mask() const override { return mask_.empty() ? nullptr : mask_.data(); }
  void infer(const float* x, float* outputs, int64_t n) override { jit_.infer({x}, outs(outputs), n); }
  bool stateful() const override { return !jit_.recurrent_states().empty(); }
  void reset_states() override { jit_.reset_states(); }

private:
  codegen::JitModel jit_;
  std::vector<std::vector<float>> scratch_; // outputs after the first
  std::vector<int32_t> labels_;
  std::vector<std::string> part_names_;
  std::vector<double> parts_; // of the last train_step
  std::vector<float> mask_;   // of the last train_step or evaluate (empty: none)

  const void* target_ptr(const float* target, int64_t n) {
    const ir::TensorType tt = jit_.target().type;
    if (!ir::is_integer(tt.dtype)) return target;
    int64_t per = tt.shape.numel() / tt.shape[0];
    labels_.resize(size_t(n * per));
    for (size_t i = 0; i < labels_.size(); i++) labels_[i] = int32_t(target[i]);
    return labels_.data();
  }
  std::vector<void*> outs(float* first) {
    std::vector<void*> v;
    for (size_t k = 0; k < scratch_.size(); k++) v.push_back(k == 0 && first ? first : scratch_[k].data());
    return v;
  }
};

} // namespace

std::unique_ptr<Runner> make_jit_runner(const frontend::Model& model, int64_t batch) {
  return std::make_unique<JitRunner>(model, batch);
}

} // namespace dlc::pipeline
