// What the commands that compile a model share: the pass-manager flags (--passes,
// --print-after, --print-after-all, --time-passes, --verify-each, --train) and the step
// from a model file to a planned Program.
#pragma once

#include "pipeline/pipeline.h"
#include "tools/args.h"

namespace dlc::tools {

std::vector<FlagSpec> compile_flags();

// The pipeline the flags ask for (--passes, --print-after, --time-passes, --verify-each).
pipeline::Options pipeline_options(const Args& a);
// --train: the training program, else inference.
passes::ProgramKind program_kind(const Args& a);
// --batch (default: 1 for inference, the model's batch_size for training).
int64_t batch_flag(const Args& a, const frontend::Model& m);

// Loads positional[0] and runs its inference program (or, with --train, its training
// program) at --batch through the pipeline the flags ask for (only its graph passes when
// `graph_passes_only`).
// The model the command names (positional[0]; dlc JSON, Keras JSON or ONNX) with the
// training sections of --training FILE.json, or of --loss/--optimizer/--metrics, in place
// of its own (frontend::with_training): how an imported model is fine-tuned unedited.
frontend::Model load_model_arg(const Args& a);
// Those three flags, for every command that trains or compiles.
std::vector<FlagSpec> training_flags();

passes::Program compile_model(const Args& a, bool graph_passes_only = false);

} // namespace dlc::tools
