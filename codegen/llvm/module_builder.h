// From a planned, lowered Program (passes/steps.h) to an LLVM module (internal to codegen/llvm).
//
// The module has one internal function per kernel and one external entry point,
// `void <entry>(const RunContext*)` (run_context.h), that calls the kernels in the
// planned order over the three region base pointers. Every buffer is its region's base
// plus the planned offset: nothing is allocated. Call steps call runtime/c_api.h by name
// (runtime_symbols.cpp registers the addresses); Loop steps become loop nests
// (loop_nest.h) of scalar IR (scalar_ops.h), each in a function of its own whose operand
// pointers are `noalias` where their bytes do not overlap, so that it vectorises without
// run-time alias checks once inlined.
#pragma once

#include "codegen/backend.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>

namespace dlc::codegen::llvmgen {

struct ModuleOptions {
  // The fast-math flags of element-wise floating-point instructions: `contract` only (FMA
  // formation), or none; see docs/jit.md for why no other flag is set.
  bool contract = true;
};

// The module of a planned program: function `entry` runs its kernels; with weight
// preparation (Program::prepare_count) `entry`_prepare runs the first prepare_count and
// `entry` the others.
std::unique_ptr<llvm::Module> build_module(const Program& p, llvm::LLVMContext& ctx, const std::string& entry,
                                           const ModuleOptions& opts);

} // namespace dlc::codegen::llvmgen
