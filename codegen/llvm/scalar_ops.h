// The element-wise ops of kernel bodies in the JIT: calls of their f32 formulas,
// dlc_scalar_<op> of runtime/kernels/scalar.h, the very functions emitted C++ calls. They
// were compiled to LLVM bitcode when dlc was built (scalar_bitcode.cpp); ScalarLibrary
// loads that bitcode into a module's context, calls its functions with the arguments the
// op table lists (ir/op.h ScalarForm; passes/steps.h scalar_arguments) and, once the
// module is built, links the functions it used into the module as internal, always-inline
// functions, so that the optimizer inlines them into the loops and vectorises them as if
// written there.
// Internal to codegen/llvm (LLVM types).
#pragma once

#include "codegen/backend.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <vector>

namespace dlc::codegen::llvmgen {

// What an element's computation may read besides its operands.
struct ElementEnv {
  llvm::Value* index = nullptr;    // i64: the element's flat index in the iteration space
  llvm::Value* seed = nullptr;     // i64: the run's seed (dropout masks)
  llvm::Value* step = nullptr;     // i64: the step (dropout masks)
  llvm::Value* training = nullptr; // i32: 1 when dropout is active
};

class ScalarLibrary {
public:
  explicit ScalarLibrary(llvm::Module& m); // parses the bitcode into m's context
  ~ScalarLibrary();

  // The results of op expression `e` (one, or 1 + slots for an optimizer update) from its
  // operand values. `entry`: where slot variables are allocated (the function's entry).
  std::vector<llvm::Value*> call(llvm::IRBuilder<>& b, llvm::IRBuilder<>& entry, const ScalarExpr& e,
                                 const std::vector<llvm::Value*>& operands, const ElementEnv& env);

  // Links the formulas the module calls into it (internal, always inline). `contract`:
  // their floating-point instructions may fuse into FMAs, as the rest of the module's.
  void link(bool contract);

private:
  llvm::Module& m_;
  std::unique_ptr<llvm::Module> lib_;
};

} // namespace dlc::codegen::llvmgen
