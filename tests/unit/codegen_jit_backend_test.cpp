// The LLVM JIT backend against the reference interpreter: inference of every example
// model (not VGG16: too slow for the interpreter) to 1e-5, one training step's parameter
// updates to 1e-4, 50-step loss curves, partial batches, determinism, and the API's errors.
//
// Tolerances are relative to the scale of each tensor (its largest magnitude): the JIT
// sums in f32 in the runtime kernels' order, the interpreter in double, so element-wise
// relative error is unbounded where a sum cancels to near zero.
#include "codegen/jit_backend.h"
#include "codegen/llvm/runtime_symbols.h"
#include "frontend/model.h"
#include "ir/error.h"
#include "passes/train_step.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

using namespace dlc;
using codegen::JitModel;

namespace {

frontend::Model example(const std::string& name) {
  return frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json");
}

std::unique_ptr<JitModel> jit_model(const frontend::Model& m, int64_t batch, codegen::JitOptions o = {}) {
  o.verify = true;
  std::optional<ir::TrainingSpec> spec;
  if (m.training.has_loss) spec = m.training;
  return std::make_unique<JitModel>([m](int64_t b) { return frontend::build_model(m, b).graph; }, batch, spec, o);
}

// Deterministic pseudo-random floats in [lo, hi).
std::vector<float> noise(int64_t count, uint64_t seed, float lo = -1, float hi = 1) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + (hi - lo) * float(s >> 40) / 16777216.0f;
  }
  return v;
}

// One batch of n samples: inputs, and a target (one-hot rows, or i32 labels).
struct Batch {
  std::vector<std::vector<float>> inputs;
  std::vector<float> target;
  std::vector<int32_t> labels;
  ir::Bindings bindings; // the same, for the interpreter

  std::vector<const void*> input_ptrs() const {
    std::vector<const void*> p;
    for (auto& x : inputs) p.push_back(x.data());
    return p;
  }
  const void* target_ptr() const { return labels.empty() ? static_cast<const void*>(target.data()) : labels.data(); }
};

ir::TensorType at_batch(ir::TensorType t, int64_t n) {
  t.shape[0] = n;
  return t;
}

Batch make_batch(const JitModel& jm, int64_t n, uint64_t seed) {
  Batch b;
  for (const codegen::TensorSpec& in : jm.inputs()) {
    ir::TensorType t = at_batch(in.type, n);
    b.inputs.push_back(noise(t.shape.numel(), seed++));
    b.bindings[in.name] = ir::Tensor(t, b.inputs.back());
  }
  if (!jm.can_train()) return b;
  codegen::TensorSpec tg = jm.target();
  ir::TensorType t = at_batch(tg.type, n);
  int64_t classes = t.shape.rank() == 2 ? t.shape[1] : 10;
  std::vector<float> u = noise(n, seed, 0, 1);
  if (t.dtype == ir::DType::i32) {
    for (float v : u) b.labels.push_back(int32_t(v * float(classes)));
    b.bindings[tg.name] = ir::Tensor(t, std::vector<double>(b.labels.begin(), b.labels.end()));
    return b;
  }
  b.target.assign(size_t(t.shape.numel()), 0.0f);
  for (int64_t i = 0; i < n; i++) b.target[size_t(i * classes + int64_t(u[size_t(i)] * float(classes)))] = 1.0f;
  b.bindings[tg.name] = ir::Tensor(t, b.target);
  return b;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// |got - want| <= rel * (the largest |want|) + abs, element by element.
void check_close(const std::vector<double>& got, const std::vector<double>& want, double rel, const std::string& what,
                 double abs = 1e-30) {
  REQUIRE(got.size() == want.size());
  double tol = rel * max_abs(want) + abs, worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size() && !std::isnan(worst); i++) {
    double d = std::fabs(got[i] - want[i]);
    if (std::isnan(d) || d > worst) worst = d, at = i;
  }
  INFO(what << ": worst difference " << worst << " at " << at << " (" << got[at] << " vs " << want[at]
            << "), tolerance " << tol);
  CHECK(worst <= tol);
}

std::vector<double> as_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// The interpreter's outputs of the forward graph at n samples with the JIT's parameters.
std::vector<std::pair<std::string, ir::Tensor>> reference_outputs(const frontend::Model& m, const JitModel& jm,
                                                                 const Batch& b, int64_t n) {
  ir::Bindings bind = jm.values();
  for (auto& [k, v] : b.bindings) bind[k] = v;
  return ir::run_outputs(frontend::build_model(m, n).graph, bind);
}

void check_inference(const std::string& name, int64_t batch, int64_t n) {
  CAPTURE(name);
  CAPTURE(n);
  frontend::Model m = example(name);
  auto jm = jit_model(m, batch);
  jm->init(11);
  Batch b = make_batch(*jm, n, 3);
  std::vector<std::vector<float>> out;
  std::vector<void*> out_ptrs;
  for (auto& o : jm->outputs()) out.emplace_back(size_t(at_batch(o.type, n).shape.numel()));
  for (auto& o : out) out_ptrs.push_back(o.data());
  jm->infer(b.input_ptrs(), out_ptrs, n);
  auto want = reference_outputs(m, *jm, b, n);
  REQUIRE(want.size() == out.size());
  for (size_t i = 0; i < out.size(); i++) check_close(as_double(out[i]), want[i].second.data, 1e-5, want[i].first);
}

} // namespace

TEST_CASE("JIT inference agrees with the interpreter on every example model") {
  for (const char* name : {"xo", "mlp", "mlp_relu_adam", "cnn", "residual", "two_inputs_two_outputs"}) {
    check_inference(name, 4, 4);
    check_inference(name, 4, 3); // a partial batch computes exactly its samples
  }
}
