// The in-process compiler: LLVM's ORC LLJIT for the host CPU. This header is LLVM-free
// so that tools and tests can use it; LLVM types stay in codegen/llvm/*.cpp.
//
// Every module is verified, optimised with the O3 pipeline for the host CPU and its
// features, and compiled. Generated code calls runtime kernels that the dlc binary
// provides, registered by name with define_symbol(). LLVM errors become dlc::Error here;
// nothing is thrown through LLVM frames.
#pragma once

#include <memory>
#include <string>

namespace llvm {
class Module;
class LLVMContext;
} // namespace llvm

namespace dlc::codegen {

class Jit {
public:
  // `fp_contract`: the code generator may fuse a multiply and an add into one FMA
  // anywhere (FPOpFusion::Fast); off, only where an instruction allows it (`contract`),
  // which modules built without that flag never do. Throws dlc::Error when the host
  // target cannot be set up.
  explicit Jit(bool fp_contract = true);
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  // Makes `address` callable from generated code as the external function `name`.
  void define_symbol(const std::string& name, void* address);

  // Parses textual LLVM IR, then optimises and compiles it like add_module().
  void add_ir_text(const std::string& ir, const std::string& module_name);

  // Takes a module built in `context` (both owned by the JIT from now on).
  void add_module(std::unique_ptr<llvm::Module> module, std::unique_ptr<llvm::LLVMContext> context);

  // The address of a compiled function; throws dlc::Error when it is not defined.
  void* lookup(const std::string& name);

  // The last module as optimised (textual IR), and the time spent optimising and
  // compiling all modules so far, in milliseconds.
  const std::string& optimized_ir() const;
  double compile_ms() const;

  // The host's CPU name and feature string, as modules should be tagged.
  const std::string& cpu() const;
  const std::string& features() const;
  bool has_avx512() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace dlc::codegen
