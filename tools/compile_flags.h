// What the commands that compile a model share: the pass-manager flags (--passes,
// --print-after, --print-after-all, --time-passes, --verify-each, --train) and the step
// from a model file to a planned Program.
#pragma once

#include "passes/pass_manager.h"
#include "tools/args.h"

namespace dlc::tools {

std::vector<FlagSpec> compile_flags();

// Loads positional[0], builds its inference graph (or, with --train, its training graph)
// at --batch (default: 1 for inference, the model's batch_size for training) and runs the
// pipeline the flags ask for (only its graph passes when `graph_passes_only`).
passes::Program compile_model(const Args& a, bool graph_passes_only = false);

} // namespace dlc::tools
