// The element-wise ops of kernel bodies (passes::is_body_op) as scalar LLVM IR: one
// function per op family, chosen by op name. Internal to codegen/llvm (LLVM types).
//
// Every op computes in f32 in the order the reference interpreter writes its formula
// (ir/interp/eval_*.cpp), so results agree with it to rounding, and in exactly the order
// of runtime/kernels/scalar.h (what emitted C++ calls), so that without contraction the
// two backends agree bit for bit; scalars that depend only
// on attributes and f32[] operands (Adam's bias corrections, Nadam's momentum schedule)
// are computed in double and rounded once, as the interpreter does. Floating-point
// instructions carry only the fast-math flags the builder is set to (see module_builder).
#pragma once

#include "ir/attrs.h"

#include <llvm/IR/IRBuilder.h>

#include <vector>

namespace dlc::codegen::llvmgen {

// What an element's computation may read besides its operands.
struct ElementEnv {
  llvm::Value* index = nullptr;    // i64: the element's flat index in the iteration space
  llvm::Value* seed = nullptr;     // i64: the run's seed (dropout masks)
  llvm::Value* step = nullptr;     // i64: the step (dropout masks)
  llvm::Value* training = nullptr; // i1: dropout active
};

// An element-wise op (passes::is_body_op) with its attributes.
struct ScalarOp {
  const std::string& name;
  const ir::Attrs& attrs;
};

// The results of `op` (one, or 1 + slots for an optimizer update) from its operand
// values. Throws dlc::Error for an op that has no scalar form.
std::vector<llvm::Value*> emit_scalar_op(llvm::IRBuilder<>& b, const ScalarOp& op,
                                         const std::vector<llvm::Value*>& args, const ElementEnv& env);

// Optimizer updates (scalar_updates.cpp); same contract as emit_scalar_op.
bool is_update_op(const std::string& op);
std::vector<llvm::Value*> emit_update_op(llvm::IRBuilder<>& b, const ScalarOp& op,
                                         const std::vector<llvm::Value*>& args);

// A float constant of the builder's context.
llvm::Value* f32(llvm::IRBuilder<>& b, double v);

} // namespace dlc::codegen::llvmgen
