// Runs a whole ir::Graph (no batch axis of its own) under the JIT, for tests that build
// graphs by hand and compare with the reference interpreter.
#pragma once

#include "codegen/jit_backend.h"
#include "ir/interp/interpreter.h"
#include "passes/pass_manager.h"

namespace dlc::test_cpp {

// The JIT's outputs of graph `g` (run whole, as it declares no batch) on bindings `b`
// (inputs, and any parameters and state they hold).
inline std::vector<std::vector<float>> run_jit(const ir::Graph& g, const ir::Bindings& b) {
  codegen::ProgramSource source;
  source.batch = 1;
  source.graph = [g](passes::ProgramKind) { return g; };
  source.compile = [g](passes::ProgramKind) { return passes::compile(g); };
  codegen::JitOptions o;
  o.contract = false;
  codegen::JitModel jit(source, o);
  jit.set_values(b); // parameters and state given in the bindings (the rest keep their initializers)
  std::vector<std::vector<int32_t>> ints;
  std::vector<std::vector<float>> floats;
  std::vector<const void*> in;
  for (const codegen::TensorSpec& t : jit.inputs()) {
    const ir::Tensor& v = b.at(t.name);
    if (t.type.dtype == ir::DType::i32) {
      ints.emplace_back(v.data.begin(), v.data.end());
      in.push_back(ints.back().data());
    } else {
      floats.push_back(v.to_float());
      in.push_back(floats.back().data());
    }
  }
  std::vector<std::vector<float>> out;
  std::vector<void*> out_ptrs;
  for (const codegen::TensorSpec& t : jit.outputs()) out.emplace_back(size_t(t.type.shape.numel()));
  for (auto& o2 : out) out_ptrs.push_back(o2.data());
  jit.infer(in, out_ptrs, 1);
  return out;
}

} // namespace dlc::test_cpp
