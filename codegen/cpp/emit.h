// The standalone C++ backend: a model becomes net.h + net.cpp (+ dlc_runtime.h, the
// header-only runtime), which build with any C++17 compiler and nothing else, and expose
// an extern "C" API for inference and, with `train`, training (docs/codegen.md).
//
// It takes the planned programs (the inference program and, with `train`, the training
// program) from the one pipeline (pipeline/pipeline.h) and only prints their steps. The
// two programs share the parameters: the inference kernels read the training program's
// parameter memory, so a step is visible to the next inference without a copy.
#pragma once

#include "runtime/schedule.h"
#include "ir/interp/interpreter.h"
#include "passes/program.h"

#include <string>

namespace dlc::codegen {

struct CppOptions {
  std::string name = "net";         // C symbol prefix: net_infer, NET_BATCH, struct net_ctx
  std::string header_file = "net.h"; // the header's file name, as net.cpp includes it
  std::string source_file = "net.cpp"; // for the banner
  bool train = false;               // emit train_step and the optimizer state
  bool input_grad = false;          // with train: emit input_grad (the loss's gradient w.r.t. the inputs)
  bool extern_weights = false;      // weights stay out of the source: load them with <name>_load
  bool emit_main = false;           // add main(): train / evaluate / predict on IDX or NPY files
  int64_t batch = 0;                // the largest n a call may pass; 0: the model's batch_size
  std::string source;               // where the model came from, for the banner
};

// The planned programs to print, and what the API needs besides them.
struct CppModel {
  std::string name;                          // the model's name, for comments
  const passes::Program* infer = nullptr;    // the inference program
  const passes::Program* train = nullptr;    // the training program (options.train)
  const passes::Program* grad = nullptr;     // the input-gradient program (options.input_grad)
  // The learning-rate schedule train_step follows (its arrays must outlive emit_cpp).
  dlc_rt::Schedule schedule{dlc_rt::ScheduleKind::constant, 0, false, 0, 1, 0.1, 1, 1, 0, false, 2, 1, nullptr, nullptr, 0};
};

struct CppFiles {
  std::string header;  // net.h
  std::string source;  // net.cpp
  std::string runtime; // dlc_runtime.h: the runtime headers the source includes, in one file
};

constexpr const char* kRuntimeHeaderFile = "dlc_runtime.h";

// `weights`: parameter values by name to embed (or nullptr: the initializers, run at
// create time from a seed). Throws dlc::Error for a bad name.
CppFiles emit_cpp(const CppModel& model, const ir::Bindings* weights, const CppOptions& options);

// The text of dlc_runtime.h (the same for every model).
std::string runtime_bundle_text();

// Checks that `name` can prefix C identifiers; throws dlc::Error otherwise.
void check_symbol_prefix(const std::string& name);

} // namespace dlc::codegen
