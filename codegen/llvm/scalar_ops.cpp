#include "codegen/llvm/scalar_ops.h"

#include "ir/error.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Operator.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>

namespace dlc::codegen {
// The bitcode of runtime/kernels/scalar.h (generated at build time from scalar_bitcode.cpp).
extern const unsigned char kScalarBitcode[];
extern const size_t kScalarBitcodeSize;
} // namespace dlc::codegen

namespace dlc::codegen::llvmgen {

using llvm::Value;

namespace {

constexpr const char* kPrefix = "dlc_scalar_";

std::string describe(llvm::Type* t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t->print(os);
  return os.str();
}

} // namespace

ScalarLibrary::ScalarLibrary(llvm::Module& m) : m_(m) {
  llvm::StringRef bytes(reinterpret_cast<const char*>(kScalarBitcode), kScalarBitcodeSize);
  auto lib = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bytes, "dlc_scalar.bc"), m.getContext());
  if (!lib) {
    std::string why;
    llvm::raw_string_ostream os(why);
    os << lib.takeError();
    throw Error(fmt::format("LLVM backend: the scalar formulas' bitcode does not load: {}", os.str()));
  }
  lib_ = std::move(*lib);
}

ScalarLibrary::~ScalarLibrary() = default;

std::vector<Value*> ScalarLibrary::call(llvm::IRBuilder<>& b, llvm::IRBuilder<>& entry, const ScalarExpr& e,
                                        const std::vector<Value*>& operands, const ElementEnv& env) {
  std::string name = kPrefix + e.op_name;
  llvm::Function* proto = lib_ ? lib_->getFunction(name) : nullptr;
  if (!proto) throw Error(fmt::format("LLVM backend: no scalar formula '{}' in runtime/kernels/scalar.h", name));
  llvm::FunctionType* fty = proto->getFunctionType();
  std::vector<ScalarArg> plan = scalar_arguments(e);
  if (fty->getNumParams() != plan.size())
    throw Error(fmt::format("LLVM backend: {} takes {} parameters, the op table lists {}", name, fty->getNumParams(),
                            plan.size()));
  std::vector<Value*> args, slots;
  for (size_t i = 0; i < plan.size(); i++) {
    const ScalarArg& a = plan[i];
    llvm::Type* t = fty->getParamType(unsigned(i));
    Value* v = nullptr;
    switch (a.kind) {
    case ScalarArg::operand: v = operands[size_t(a.arg)]; break;
    case ScalarArg::slot: // a variable the formula replaces in place; SROA keeps it in a register
      v = entry.CreateAlloca(b.getFloatTy(), nullptr, "slot");
      b.CreateStore(operands[size_t(a.arg)], v);
      slots.push_back(v);
      break;
    case ScalarArg::constant:
      v = t->isFloatingPointTy() ? llvm::ConstantFP::get(t, a.value) : llvm::ConstantInt::get(t, uint64_t(int64_t(a.value)));
      break;
    case ScalarArg::seed: v = env.seed; break;
    case ScalarArg::step: v = env.step; break;
    case ScalarArg::training: v = b.CreateZExt(env.training, t); break;
    case ScalarArg::index: v = env.index; break;
    }
    if (v->getType() != t)
      throw Error(fmt::format("LLVM backend: argument {} of {} is {}, the formula takes {}", i, name,
                              describe(v->getType()), describe(t)));
    args.push_back(v);
  }
  llvm::FunctionCallee fn = m_.getOrInsertFunction(name, fty);
  std::vector<Value*> out = {b.CreateCall(fn, args)};
  for (Value* s : slots) out.push_back(b.CreateLoad(b.getFloatTy(), s));
  return out;
}

void ScalarLibrary::link(bool contract) {
  if (!lib_) return;
  // Only the formulas the module declares (and what they call) are brought in.
  if (llvm::Linker::linkModules(m_, std::move(lib_), llvm::Linker::Flags::LinkOnlyNeeded))
    throw Error("LLVM backend: linking the scalar formulas' bitcode failed");
  for (llvm::Function& f : m_)
    if (!f.isDeclaration() && f.getName().starts_with(kPrefix)) {
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
      f.removeFnAttr(llvm::Attribute::NoInline);
      f.removeFnAttr(llvm::Attribute::OptimizeNone);
      f.addFnAttr(llvm::Attribute::AlwaysInline);
      if (contract)
        for (llvm::Instruction& i : llvm::instructions(f))
          if (llvm::isa<llvm::FPMathOperator>(i)) i.setHasAllowContract(true);
    }
}

} // namespace dlc::codegen::llvmgen
