// The LLVM JIT backend: a model compiled in-process and run over planned memory.
// This header is LLVM-free (the implementation is codegen/llvm/jit_backend.cpp).
//
// A JitModel holds up to three compiled programs of one model, each planned on first use
// by the one pipeline (pipeline/pipeline.h, through a ProgramSource) and compiled by the
// LLVM module builder:
//   - inference:  the forward graph (dropout is the identity);
//   - evaluation: forward + loss, no update (validation loss);
//   - training:   forward + loss + backward + optimizer update (passes/training.h).
// Each has its three regions (constants, state, arena: passes/steps.h) allocated once,
// 64-byte aligned, of the sizes memplan planned; a call copies its inputs into the arena, runs the program and copies
// its outputs out: nothing is allocated per step.
//
// Parameters and optimizer state (the "persistent" values) are the model's; the programs
// share them: when a program runs after another one changed them, it takes their newest
// values first (one copy per switch, not per step).
//
// Batches: every program is compiled for `batch` samples; a call may pass any n <= batch,
// and computes exactly the first n samples (GEMM rows, loop trips and the divisor of the
// batch-mean loss scale with n at run time), so the loss and gradients of a last partial
// batch are those of its n samples.
//
// Tensors cross the API as raw row-major arrays of their dtype (f32: float, i32: int32_t
// class labels), sample axis first, n samples each.
#pragma once

#include "ir/graph.h"
#include "ir/interp/interpreter.h"
#include "passes/program.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dlc::codegen {

struct JitOptions {
  // Let element-wise loops contract a*b+c into one FMA (faster, and what issue 6 asks).
  // Off, every f32 operation rounds as written: the mode for bit-for-bit comparisons with
  // emitted C++ compiled without contraction.
  bool contract = true;
  // Run the pass pipeline's verifiers after every pass (on in tests and debug builds).
  bool verify = false;
};

// Where a JitModel's programs come from (pipeline/pipeline.h: jit_source): the graph of
// each program kind before any pass (what the model reads, writes and keeps, known before
// anything is compiled) and the planned program, both at `batch`.
struct ProgramSource {
  int64_t batch = 0;
  bool can_train = false; // evaluation and training programs exist
  // The training graph's target inputs, one per loss, and the classes of the output each
  // loss reads (integer targets: labels must be in [0, classes)).
  struct Target {
    std::string name;
    int64_t classes = 0;
  };
  std::vector<Target> targets;
  std::function<ir::Graph(passes::ProgramKind)> graph;
  std::function<passes::Program(passes::ProgramKind)> compile;
};

// A named tensor the model reads or writes; its type is at the compiled batch size.
struct TensorSpec {
  std::string name;
  ir::TensorType type;
};

class JitModel {
public:
  // Reads the programs' graphs (nothing is compiled yet); a source that cannot train
  // makes train_step and evaluate throw.
  explicit JitModel(ProgramSource source, JitOptions options = {});
  ~JitModel();
  JitModel(const JitModel&) = delete;
  JitModel& operator=(const JitModel&) = delete;

  int64_t batch() const;
  const std::vector<TensorSpec>& inputs() const;  // the model's inputs, in graph order
  const std::vector<TensorSpec>& outputs() const; // the model's outputs, in graph order
  bool can_train() const;
  // What train_step's `targets` hold, one per loss: f32 like the output, or i32 labels.
  const std::vector<TensorSpec>& targets() const;

  // Compiles the programs now (they compile on first use otherwise), e.g. to time them.
  void compile_inference();
  void compile_training();

  // --- parameters and optimizer state -------------------------------------------------
  // Every param from its initializer and every optimizer state from its start value
  // (runtime/init.h: the same numbers as ir::init_params for this seed); sets seed().
  void init(uint64_t seed);
  // The seed of dropout masks (init sets it; a resumed run sets it back).
  void set_seed(uint64_t seed);
  uint64_t seed() const;
  // The persistent values: the params, then (when the model can train) the optimizer state.
  std::vector<TensorSpec> persistent() const;
  std::vector<float> get(const std::string& name) const;
  // Throws dlc::Error for an unknown name (suggesting the nearest) or a wrong element count.
  void set(const std::string& name, const std::vector<float>& values);
  // Stateful recurrent layers' states ("<layer>.state_h", lstm also "_c"; [batch, units],
  // among persistent()): infer, evaluate and train_step each start from them and leave the
  // last step's states there, and then take whole batches only (n == batch).
  std::vector<TensorSpec> recurrent_states() const;
  // Sets them to zeros (Keras's reset_states): the next call starts as a new stream.
  void reset_states();
  // All persistent values by name, as the interpreter binds them (tests, checkpoints).
  ir::Bindings values() const;
  void set_values(const ir::Bindings& values); // sets those present

  // --- running --------------------------------------------------------------------------
  // outputs[k] = model output k of inputs[k]'s n samples.
  void infer(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, int64_t n);
  // One optimizer step on n samples at learning rate lr; `step` keys the dropout masks
  // (the number of steps taken before this one). Returns the batch-mean loss; `outputs`,
  // when given, receive the model outputs of this forward pass (for accuracy).
  double train_step(const std::vector<const void*>& inputs, const std::vector<const void*>& targets, int64_t n,
                    float lr, int64_t step, const std::vector<void*>& outputs = {});
  // A scalar output of the last training step ("regularization_loss", "loss.<output>").
  double training_scalar(const std::string& name);
  // The "loss_mask" output of the last train_step or evaluate (n samples of the loss's
  // output's mask, passes::TrainingGraph::mask), or nothing when that output has no mask.
  std::vector<float> loss_mask(int64_t n);
  // The batch-mean loss of n samples without updating anything (dropout off).
  double evaluate(const std::vector<const void*>& inputs, const std::vector<const void*>& targets, int64_t n,
                  const std::vector<void*>& outputs = {});
  // The gradient of the batch-mean loss with respect to the model's f32 inputs at the
  // current parameters, as evaluate computes the loss (no dropout, moving statistics, no
  // parameter updated; stateful layers carry their states on, as in evaluate): grads[k] receives n samples of f32 input k's gradient (in input
  // order; null skips one). Returns the loss. Saliency maps, adversarial examples, a
  // GAN's generator step. The program compiles on first use.
  double input_gradients(const std::vector<const void*>& inputs, const std::vector<const void*>& targets, int64_t n,
                         const std::vector<void*>& grads);
  // Freezes (or thaws) at run time every parameter whose name starts with `prefix` (a
  // layer's name with its dot, "dense_1." -- "dense_1" would match "dense_10" too -- or a
  // prefix of many, "d_"): train_step leaves them and their
  // optimizer state ("<param>.<slot>") as they were. Their gradients are still computed
  // (a layer's "trainable": false compiles them out instead). Returns how many
  // parameters matched; throws dlc::Error when none does.
  int set_frozen(const std::string& prefix, bool frozen);
  // Whether train_step applies dropout (default true, as in Keras's fit); infer and
  // evaluate never do.
  void set_training(bool on);
  bool training() const;

  // --- reporting ------------------------------------------------------------------------
  double compile_ms() const;      // LLVM optimisation and code generation, all programs so far
  double pipeline_ms() const;     // the pass pipeline (graph to planned Program), all programs
  // The bytes the program of `kind` allocated for a region (compiling it if needed).
  int64_t allocated_bytes(passes::ProgramKind kind, passes::Region region);
  std::string llvm_ir(bool training_program, bool optimized) const; // a compiled program's module

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The LLVM module of a planned Program (lowered) as text, for `dlc show --emit=llvm`: as
// built, or after the O3 pipeline for the host CPU. With `compile_ms`, the module is also
// compiled to machine code and the time of optimisation and code generation stored there.
std::string print_llvm_module(const passes::Program& program, bool optimized, JitOptions options = {},
                              double* compile_ms = nullptr);

} // namespace dlc::codegen
