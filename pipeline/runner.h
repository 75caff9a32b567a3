// A model ready to run, whatever backend runs it: what `dlc train`, `eval` and `predict`
// drive. Two implementations: the reference interpreter (make_ref_runner, ref_runner.cpp)
// and the LLVM JIT (make_jit_runner, jit_runner.cpp, over codegen/jit_backend.h, its
// programs from the one pipeline).
//
// Tensors cross as row-major float arrays, sample axis first. A call on n samples passes
// each kind as blocks one after another, each block n samples of one tensor: `x` the
// model's inputs (graph order), `target` one block per loss (f32 values/one-hot, or class
// ids stored as floats for sparse cross-entropy), `outputs` the reported outputs (the
// outputs the losses read, in loss order; the model's first output without a loss).
#pragma once

#include "frontend/model.h"
#include "ir/interp/interpreter.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dlc::pipeline {

// Values per sample of a tensor whose axis 0 is the sample axis: the size of one sample
// in a Runner's block.
inline int64_t per_sample(const ir::TensorType& t) { return t.shape.numel() / t.shape[0]; }

class Runner {
public:
  virtual ~Runner() = default;
  virtual std::string backend() const = 0; // "ref", "jit"
  virtual int64_t batch() const = 0;       // the largest n a call may pass
  virtual bool can_train() const = 0;
  // The blocks' types at the compiled batch: the model's inputs, the reported outputs and
  // (a model that can train) the losses' targets.
  virtual std::vector<ir::TensorType> input_types() const = 0;
  virtual std::vector<ir::TensorType> output_types() const = 0;
  virtual std::vector<ir::TensorType> target_types() const = 0;
  // The reported outputs' names, in output_types() order.
  virtual std::vector<std::string> output_names() const = 0;

  // Parameters from their initializers and optimizer state from its start values.
  virtual void init(uint64_t seed) = 0;
  virtual uint64_t seed() const = 0;
  virtual void set_seed(uint64_t seed) = 0; // dropout masks of a resumed run
  // Params, then optimizer state, by name (checkpoints, weights files).
  virtual ir::Bindings values() const = 0;
  virtual void set_values(const ir::Bindings& values) = 0;

  // One optimizer step on n samples at learning rate lr; `step` (steps taken before this
  // one) keys the dropout masks. Returns the batch-mean loss (with several losses, their
  // weighted sum); `outputs` (the reported outputs' blocks) when not null.
  virtual double train_step(const float* x, const float* target, int64_t n, double lr, int64_t step,
                            float* outputs) = 0;
  // The batch-mean loss of n samples, no update, dropout off; `outputs` as above.
  virtual double evaluate(const float* x, const float* target, int64_t n, float* outputs) = 0;
  // The reported outputs of n samples.
  virtual void infer(const float* x, float* outputs, int64_t n) = 0;
  // The mask of the loss's output in the last train_step or evaluate, n samples of T
  // values (1 at real steps, 0 at padding: docs/recurrent.md), or null when that output
  // has none. The metrics skip the padded steps as the loss does.
  virtual const float* last_mask() const = 0;
  // Stateful recurrent layers (docs/recurrent.md, "State across batches"): train_step,
  // evaluate and infer each continue their states from the call before and take whole
  // batches only (n == batch()). reset_states sets the states to zeros (Keras's
  // reset_states); stateful() says whether the model has such states.
  virtual bool stateful() const = 0;
  virtual void reset_states() = 0;
  // The parts of the loss besides the whole, as Keras's History names them
  // (passes::loss_part_names), and their values in the last train_step, in that order.
  virtual std::vector<std::string> loss_part_names() const = 0;
  virtual std::vector<double> last_loss_parts() const = 0;
  // Compiles what train_step/evaluate/infer will run (the JIT compiles on first use
  // otherwise), so that a caller can time its first epoch without the compile in it.
  virtual void prepare(bool /*training*/) {}
  // Milliseconds spent compiling so far (0 for the interpreter), for `dlc train -v`.
  virtual double compile_ms() const { return 0; }
};

// The outputs a Runner's calls write: the outputs the losses read (loss order), or the
// model's first output when it has no loss. `forward`: the model's graph.
std::vector<std::string> reported_outputs(const frontend::Model& model, const ir::Graph& forward);

// The reference interpreter: every call evaluates the graph for exactly n samples.
std::unique_ptr<Runner> make_ref_runner(const frontend::Model& model, int64_t batch);

// The LLVM JIT (codegen/llvm/jit_runner.cpp): programs compiled for `batch` samples.
std::unique_ptr<Runner> make_jit_runner(const frontend::Model& model, int64_t batch);

// The backend `dlc train` and `dlc eval` use when none is named: the JIT.
constexpr const char* kDefaultBackend = "jit";

// `dlc predict` with more samples than this takes the JIT (kDefaultBackend) by default.
constexpr int64_t kPredictFewSamples = 16;

// The backend `dlc predict` uses when none is named: the JIT, as train and eval, for more
// than kPredictFewSamples samples of a model with one input and one output (compiling
// pays off there); the interpreter for a few samples (no compile) and for a model with
// several inputs or outputs (it reads every input and prints every output).
std::string predict_backend(const frontend::Model& model, int64_t samples);

// "ref" or "jit"; throws dlc::Error naming the choices for anything else.
std::unique_ptr<Runner> make_runner(const std::string& backend, const frontend::Model& model, int64_t batch);

} // namespace dlc::pipeline
