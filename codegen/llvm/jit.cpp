#include "codegen/llvm/jit.h"

#include "ir/error.h"

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/AsmParser/Parser.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <chrono>
#include <mutex>

namespace dlc::codegen {

namespace {

std::string to_string(llvm::Error err) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << err;
  return os.str();
}

template <typename T> T unwrap(llvm::Expected<T> v, const char* what) {
  if (!v) throw Error(fmt::format("LLVM JIT: {}: {}", what, to_string(v.takeError())));
  return std::move(*v);
}

void init_llvm_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

} // namespace

struct Jit::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> tm;
  std::string cpu, features, last_ir;
  bool avx512 = false;
  double compile_ms = 0;

  void optimize(llvm::Module& m) {
    m.setDataLayout(tm->createDataLayout());
    m.setTargetTriple(tm->getTargetTriple().str());
    for (llvm::Function& f : m) {
      if (f.isDeclaration()) continue;
      f.addFnAttr("target-cpu", cpu);
      f.addFnAttr("target-features", features);
      // Without this, loops vectorise to 256 bits even where AVX-512 is available.
      if (avx512) f.addFnAttr("prefer-vector-width", "512");
    }
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    llvm::PassBuilder pb(tm.get(), pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(m, mam);
  }
};

Jit::Jit(bool fp_contract) : impl_(std::make_unique<Impl>()) {
  init_llvm_once();
  auto jtmb = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  // Contraction lets a*b+c become one FMA.
  jtmb.getOptions().AllowFPOpFusion = fp_contract ? llvm::FPOpFusion::Fast : llvm::FPOpFusion::Standard;
  impl_->cpu = jtmb.getCPU();
  impl_->features = jtmb.getFeatures().getString();
  impl_->avx512 = impl_->features.find("+avx512f") != std::string::npos;
  impl_->tm = unwrap(jtmb.createTargetMachine(), "creating the target machine");
  impl_->jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create(),
                      "creating the JIT");
}

Jit::~Jit() = default;

void Jit::define_symbol(const std::string& name, void* address) {
  llvm::orc::SymbolMap symbols;
  symbols[impl_->jit->mangleAndIntern(name)] = llvm::orc::ExecutorSymbolDef(
      llvm::orc::ExecutorAddr::fromPtr(address), llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  if (auto err = impl_->jit->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
    throw Error(fmt::format("LLVM JIT: defining symbol '{}': {}", name, to_string(std::move(err))));
}

void Jit::add_ir_text(const std::string& ir, const std::string& module_name) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  llvm::SMDiagnostic diag;
  std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(ir, diag, *ctx);
  if (!m)
    throw Error(fmt::format("{}:{}:{}: invalid LLVM IR: {}", module_name, diag.getLineNo(),
                            diag.getColumnNo(), diag.getMessage().str()));
  m->setModuleIdentifier(module_name);
  add_module(std::move(m), std::move(ctx));
}

void Jit::add_module(std::unique_ptr<llvm::Module> module, std::unique_ptr<llvm::LLVMContext> context) {
  std::string verify_msg;
  llvm::raw_string_ostream vos(verify_msg);
  if (llvm::verifyModule(*module, &vos))
    throw Error(fmt::format("LLVM JIT: module '{}' does not verify: {}", module->getModuleIdentifier(), vos.str()));
  auto t0 = std::chrono::steady_clock::now();
  impl_->optimize(*module);
  impl_->last_ir.clear();
  llvm::raw_string_ostream os(impl_->last_ir);
  module->print(os, nullptr);
  os.flush();
  if (auto err = impl_->jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(module), std::move(context))))
    throw Error(fmt::format("LLVM JIT: adding a module: {}", to_string(std::move(err))));
  impl_->compile_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void* Jit::lookup(const std::string& name) {
  auto t0 = std::chrono::steady_clock::now();
  auto addr = impl_->jit->lookup(name);
  if (!addr) throw Error(fmt::format("LLVM JIT: no function '{}': {}", name, to_string(addr.takeError())));
  // The first lookup triggers code generation; count it as compile time.
  impl_->compile_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return addr->toPtr<void*>();
}

const std::string& Jit::optimized_ir() const { return impl_->last_ir; }
double Jit::compile_ms() const { return impl_->compile_ms; }
const std::string& Jit::cpu() const { return impl_->cpu; }
const std::string& Jit::features() const { return impl_->features; }
bool Jit::has_avx512() const { return impl_->avx512; }

} // namespace dlc::codegen
