// The one pipeline (DESIGN.md): model -> graph -> [loss graph | training graph] -> clean-up
// -> fuse -> lower -> schedule -> memplan -> Program. Every command, the runners and both
// backends get their programs here, through the passes the caller names (the default
// pipeline, or `--passes`), so that what `dlc show --emit=STAGE` prints at any stage is
// what the backends compile. Codegen never assembles a pipeline: it takes planned
// Programs (codegen/jit_backend.h: ProgramSource; codegen/cpp/emit.h: CppModel).
#pragma once

#include "codegen/cpp/emit.h"
#include "codegen/jit_backend.h"
#include "frontend/model.h"
#include "passes/pass_manager.h"

#include <string>
#include <vector>

namespace dlc::pipeline {

using passes::ProgramKind;

struct Options {
  std::vector<std::string> passes = passes::default_pipeline(); // as passes::parse_pipeline returns
  passes::PassOptions pass_options;
};

// The graph of a program kind at a batch, before any pass. Throws dlc::Error naming the
// model's file when a loss or training program is asked of a model that has no loss.
ir::Graph program_graph(const frontend::Model& m, ProgramKind kind, int64_t batch);

// The program through the pipeline (o.passes: all of it by default).
passes::Program compile(const frontend::Model& m, ProgramKind kind, int64_t batch, const Options& o = {});

// What the JIT compiles for a model at a batch (codegen/jit_backend.h).
codegen::ProgramSource jit_source(const frontend::Model& m, int64_t batch, const Options& o = {});

// The model as standalone C++ (codegen/cpp/emit.h): its inference program and, with
// options.train, its training program at options.batch (default: the model's batch_size).
codegen::CppFiles emit_cpp(const frontend::Model& m, const ir::Bindings* weights, codegen::CppOptions options,
                           const Options& o = {});

} // namespace dlc::pipeline
