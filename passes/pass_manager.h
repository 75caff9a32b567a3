// The pass manager: named passes run in a pipeline over a Program (passes/program.h).
// Graph passes (canonicalize, fold, cse, dce) rewrite Program::graph; then fuse makes
// kernels, lower spells them out as steps over buffers, schedule orders them and memplan
// places every buffer. After each pass the
// verifier of that stage may run (always in tests and debug builds), and the Program may
// be printed (--print-after=PASS, --print-after-all) and the pass timed (--time-passes).
#pragma once

#include "passes/program.h"

#include <functional>
#include <string>
#include <vector>

namespace dlc::passes {

#ifdef NDEBUG
constexpr bool kVerifyByDefault = false;
#else
constexpr bool kVerifyByDefault = true;
#endif

struct PassOptions {
  bool verify_each = kVerifyByDefault;
  bool print_after_all = false;
  std::vector<std::string> print_after; // pass names
  bool time_passes = false;
  // Kernels that depend only on parameters run once per change of the weights, not per
  // call (Program::prepare_weights): for inference programs (pipeline/pipeline.cpp).
  bool prepare_weights = false;
  // A loop body compiled for its loop (passes/lower_loop.cpp): its inputs (the carried
  // values and the step's slices) carry the batch as these flags say, and stay live to
  // the end of the body, so that the next step's values can be written into them while
  // the body's results are still to be read.
  bool loop_body = false;
  std::vector<bool> inputs_batched;
  // Where printed stages and timings go (default: stderr, as MLIR's -print-ir-after).
  std::function<void(const std::string&)> log;
};

struct PassInfo {
  std::string name;
  std::string summary;
};
const std::vector<PassInfo>& pass_list();

// canonicalize, fold, cse, dce, fuse, lower, schedule, memplan
std::vector<std::string> default_pipeline();

// Whether a pass works on kernels (fuse, lower, schedule, memplan) rather than the graph.
bool is_kernel_pass(const std::string& name);

// Splits "a,b,c" and checks every name (unknown names are errors that suggest the
// nearest) and the order: graph passes, then fuse, lower, schedule, memplan, each at most once,
// each after the one it needs. The stages a pipeline omits are appended.
std::vector<std::string> parse_pipeline(const std::string& list);

// Runs `pipeline` (names as parse_pipeline returns) on graph `g`.
Program run_pipeline(ir::Graph g, const std::vector<std::string>& pipeline, const PassOptions& opts = {});

// The default pipeline with default options (verification on): tests and library users.
Program compile(const ir::Graph& g);

} // namespace dlc::passes
