#include "codegen/llvm/compiled_program.h"

#include "ir/error.h"
#include "runtime/ftz.h"

#include <cstring>

namespace dlc::codegen {

namespace {

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

template <typename T> void store_as(uint8_t* dst, const std::vector<double>& data) {
  for (size_t i = 0; i < data.size(); i++) {
    T v = T(data[i]);
    std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
  }
}

// Bytes of n samples of a value (all of it when it has no sample axis).
int64_t bytes_of(const NamedValue& v, int64_t n) {
  int64_t elems = v.batched ? v.sample_elems * n : v.type.shape.numel();
  return elems * ir::dtype_size(v.type.dtype);
}

} // namespace

CompiledProgram::CompiledProgram(Program program, RunFn run, RunFn prepare)
    : program_(std::move(program)), run_(run), prepare_(prepare) {
  for (int r = 0; r < passes::kRegions; r++) {
    // Exactly the planned size (one aligned line for an empty region, so that every region
    // has a distinct valid address).
    int64_t size = std::max<int64_t>(program_.region_size[size_t(r)], 1);
    size_t bytes = size_t(round_up(size, passes::kAlignment));
    allocated_[r] = program_.region_size[size_t(r)] > 0 ? int64_t(bytes) : 0;
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(size_t(passes::kAlignment), bytes));
    if (!p)
      throw Error(fmt::format("JIT: cannot allocate the {} region ({} bytes)", passes::region_name(passes::Region(r)), bytes));
    std::memset(p, 0, bytes);
    regions_[r].reset(p);
  }
  for (const NamedValue& v : program_.interface)
    if (!v.output && (v.kind == ir::ValueKind::param || v.kind == ir::ValueKind::state)) persistent_.push_back(v.name);
  fill_constants();
}

void CompiledProgram::fill_constants() {
  for (const NamedValue& v : program_.interface) {
    if (v.output || v.kind != ir::ValueKind::constant) continue;
    switch (v.type.dtype) {
    case ir::DType::f32: store_as<float>(at(v.ref), v.data); break;
    case ir::DType::i32: store_as<int32_t>(at(v.ref), v.data); break;
    case ir::DType::i64: store_as<int64_t>(at(v.ref), v.data); break;
    case ir::DType::boolean: store_as<uint8_t>(at(v.ref), v.data); break;
    default: throw Error(fmt::format("JIT: constant '{}' has type {}, which has no storage", v.name, v.type.str()));
    }
  }
}

const NamedValue& CompiledProgram::require(const std::string& name, bool output) const {
  const NamedValue* v = find(name, output);
  if (!v) throw Error(fmt::format("JIT: the compiled program has no {} '{}'", output ? "output" : "tensor", name));
  return *v;
}

void CompiledProgram::check_samples(int64_t n) const {
  if (n < 1 || n > program_.batch)
    throw Error(fmt::format("{} samples: a call takes 1 to {} (the compiled batch)", n, program_.batch));
}

void CompiledProgram::set_input(const std::string& name, const void* data, int64_t n) {
  check_samples(n);
  const NamedValue* v = find(name);
  if (!v) return; // an input no kernel reads
  std::memcpy(at(v->ref), data, size_t(bytes_of(*v, n)));
}

void CompiledProgram::set_scalar(const std::string& name, float v) {
  if (const NamedValue* nv = find(name)) std::memcpy(at(nv->ref), &v, sizeof v);
}

void CompiledProgram::get_output(const std::string& name, void* data, int64_t n) {
  check_samples(n);
  const NamedValue& v = require(name, true);
  std::memcpy(data, at(v.ref), size_t(bytes_of(v, n)));
}

float CompiledProgram::scalar_output(const std::string& name) {
  float v;
  std::memcpy(&v, at(require(name, true).ref), sizeof v);
  return v;
}

void CompiledProgram::read(const std::string& name, float* out) {
  const NamedValue& v = require(name);
  std::memcpy(out, at(v.ref), size_t(v.type.bytes()));
}

void CompiledProgram::write(const std::string& name, const float* in) {
  const NamedValue& v = require(name);
  std::memcpy(at(v.ref), in, size_t(v.type.bytes()));
  prepared_ = false;
}

void CompiledProgram::run(int64_t n, uint64_t seed, uint64_t step, bool training) {
  check_samples(n);
  RunContext ctx{};
  for (int r = 0; r < passes::kRegions; r++) ctx.regions[r] = regions_[r].get();
  ctx.seed = seed;
  ctx.step = step;
  ctx.n = n;
  ctx.training = training ? 1 : 0;
  dlc_rt::FtzScope ftz; // denormals flushed while the program runs, the caller's mode restored after
  if (prepare_ && !prepared_) {
    prepare_(&ctx);
    prepared_ = true;
  }
  run_(&ctx);
}

} // namespace dlc::codegen
