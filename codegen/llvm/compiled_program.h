// One planned program compiled by the JIT, with its memory: the three regions allocated
// once (64-byte aligned, the sizes memplan planned, constants filled in) and its named
// values (inputs, outputs, params, state) found by name. LLVM-free; used by jit_backend.cpp.
#pragma once

#include "codegen/llvm/run_context.h"
#include "codegen/backend.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace dlc::codegen {

class CompiledProgram {
public:
  // `prepare`: the program's weight preparation (Program::prepare_count), or null.
  CompiledProgram(Program program, RunFn run, RunFn prepare = nullptr);

  const Program& program() const { return program_; }
  int64_t batch() const { return program_.batch; }

  // Copies n samples of input `name` in (row-major, sample axis first; an unbatched input
  // is copied whole). An input the program does not read is ignored.
  void set_input(const std::string& name, const void* data, int64_t n);
  void set_scalar(const std::string& name, float v);
  // Copies n samples of output `name` out.
  void get_output(const std::string& name, void* data, int64_t n);
  float scalar_output(const std::string& name);

  // The persistent values (params and state) this program holds.
  const std::vector<std::string>& persistent() const { return persistent_; }
  bool has(const std::string& name) const { return find(name) != nullptr; }
  void read(const std::string& name, float* out);
  // Writing a parameter makes the prepared weights stale: the next run prepares them first.
  void write(const std::string& name, const float* in);

  void run(int64_t n, uint64_t seed, uint64_t step, bool training);

  // The bytes allocated for each region (what the JIT's program holds).
  int64_t allocated(passes::Region r) const { return allocated_[size_t(r)]; }

  // Which version of the persistent values this program's memory holds (JitModel's count).
  uint64_t version = 0;

private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  Program program_;
  RunFn run_;
  RunFn prepare_;
  bool prepared_ = false;
  std::unique_ptr<uint8_t[], Free> regions_[passes::kRegions];
  int64_t allocated_[passes::kRegions] = {};
  std::vector<std::string> persistent_;

  uint8_t* at(const Ref& r) {
    Program::Place p = program_.place(r);
    return regions_[size_t(p.region)].get() + p.offset;
  }
  const NamedValue* find(const std::string& name, bool output = false) const { return program_.find(name, output); }
  const NamedValue& require(const std::string& name, bool output = false) const;
  void fill_constants();
  void check_samples(int64_t n) const;
};

} // namespace dlc::codegen
