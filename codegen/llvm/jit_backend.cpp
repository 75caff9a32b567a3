// JitModel: programs compiled on first use, persistent values kept in step across them.
//
// The newest persistent values live in one place at a time: `owner` (the program whose
// memory a training step last updated) or the host copy `store`. A version count says
// which: a program whose `version` is behind takes the values before it runs.
#include "codegen/jit_backend.h"

#include "codegen/llvm/compiled_program.h"
#include "codegen/llvm/jit.h"
#include "codegen/llvm/module_builder.h"
#include "codegen/llvm/runtime_symbols.h"
#include "passes/training.h"

#include <llvm/Support/raw_ostream.h>

#include <chrono>
#include <map>
#include <set>

namespace dlc::codegen {

namespace {

using Kind = passes::ProgramKind;
const char* kind_name(Kind k) {
  return k == Kind::inference ? "infer" : k == Kind::evaluation ? "eval" : k == Kind::training ? "train" : "input_grad";
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<Jit> make_jit(const JitOptions& o) {
  auto jit = std::make_unique<Jit>(o.contract);
  for (const auto& [name, address] : runtime_symbols()) jit->define_symbol(name, address);
  return jit;
}

llvmgen::ModuleOptions module_options(const JitOptions& o) {
  llvmgen::ModuleOptions m;
  m.contract = o.contract;
  return m;
}

std::string print_module(const llvm::Module& m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os, nullptr);
  return os.str();
}

// A lowered program's module as text: as built, or optimised (and, with `compile_ms`,
// compiled to machine code, the time stored there).
std::string module_text(const Program& l, bool optimized, const JitOptions& options, double* compile_ms) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> m = llvmgen::build_module(l, *ctx, "dlc_run", module_options(options));
  if (!optimized && !compile_ms) return print_module(*m);
  std::string text = optimized ? "" : print_module(*m);
  std::unique_ptr<Jit> jit = make_jit(options);
  jit->add_module(std::move(m), std::move(ctx));
  if (compile_ms) {
    jit->lookup("dlc_run");
    *compile_ms = jit->compile_ms();
  }
  return optimized ? jit->optimized_ir() : text;
}

} // namespace

struct JitModel::Impl {
  ProgramSource source;
  int64_t batch = 0;
  bool can_train = false;
  JitOptions options;
  std::vector<TensorSpec> inputs, outputs;
  std::vector<TensorSpec> targets; // one per loss
  std::vector<int64_t> classes;    // of each target's output: integer labels lie in [0, classes)
  std::vector<TensorSpec> persistent; // params, then optimizer state
  // Stateful recurrent layers' states (graph state of the inference graph): every program
  // updates them, and every call runs whole batches (row i continues row i).
  std::vector<TensorSpec> recurrent_states;
  std::unique_ptr<Jit> jit;
  std::map<Kind, std::unique_ptr<CompiledProgram>> programs;
  std::map<std::string, std::vector<float>> store;
  CompiledProgram* owner = nullptr; // holds the newest values; nullptr: `store` does
  uint64_t version = 1;
  uint64_t seed = 0;
  bool training = true;
  double pipeline_ms = 0;
  Kind last_loss = Kind::training; // the program of the last train_step or evaluate
  std::set<std::string> frozen;    // values train_step restores: frozen params and their optimizer slots
  std::vector<std::vector<float>> frozen_saved;

  CompiledProgram& program(Kind k) {
    if (k != Kind::inference && !can_train)
      throw Error("the model has no training section (loss and optimizer): it cannot train or evaluate a loss");
    auto& slot = programs[k];
    if (!slot) slot = compile(k);
    return *slot;
  }

  std::unique_ptr<CompiledProgram> compile(Kind k) {
    auto t0 = std::chrono::steady_clock::now();
    Program l = source.compile(k);
    if (!l.planned) throw Error("JIT: the program source gave a program that is not planned");
    pipeline_ms += ms_since(t0);
    if (!jit) jit = make_jit(options);
    std::string entry = std::string("dlc_") + kind_name(k);
    auto ctx = std::make_unique<llvm::LLVMContext>();
    std::unique_ptr<llvm::Module> m = llvmgen::build_module(l, *ctx, entry, module_options(options));
    jit->add_module(std::move(m), std::move(ctx));
    auto run = reinterpret_cast<RunFn>(jit->lookup(entry));
    auto prepare = l.prepare_count > 0 ? reinterpret_cast<RunFn>(jit->lookup(entry + "_prepare")) : nullptr;
    return std::make_unique<CompiledProgram>(std::move(l), run, prepare); // version 0: takes the values first
  }

  // The host copy made current (from the owner program).
  void pull_store() {
    if (!owner) return;
    for (const std::string& name : owner->persistent()) owner->read(name, store.at(name).data());
    owner = nullptr;
  }

  // Program `p` made current before it runs.
  void sync(CompiledProgram& p) {
    if (p.version == version) return;
    pull_store();
    for (const std::string& name : p.persistent()) p.write(name, store.at(name).data());
    p.version = version;
  }

  // After `p` updated its persistent values.
  void updated_by(CompiledProgram& p) {
    p.version = ++version;
    owner = &p;
  }

  std::vector<float>& stored(const std::string& name) {
    auto it = store.find(name);
    if (it != store.end()) return it->second;
    std::vector<std::string> names;
    for (auto& t : persistent) names.push_back(t.name);
    throw Error(fmt::format("the model has no parameter or optimizer state '{}'{}", name, did_you_mean(name, names)));
  }

  // Class labels index the loss's rows: one outside [0, classes) would read out of bounds.
  void check_labels(const std::vector<const void*>& tgt, int64_t n) const {
    if (tgt.size() != targets.size())
      throw Error(fmt::format("the model has {} losses, {} targets were given", targets.size(), tgt.size()));
    for (size_t k = 0; k < targets.size(); k++) {
      if (targets[k].type.dtype != ir::DType::i32) continue;
      const auto* labels = static_cast<const int32_t*>(tgt[k]);
      int64_t count = targets[k].type.shape.numel() / targets[k].type.shape[0] * n;
      for (int64_t i = 0; i < count; i++)
        if (labels[i] < 0 || labels[i] >= classes[k])
          throw Error(fmt::format("label {} of sample {} is outside [0, {}): the output has {} classes", labels[i],
                                  i / (count / n), classes[k], classes[k]));
    }
  }

  void check_samples(int64_t n) const {
    if (n < 1 || n > batch) throw Error(fmt::format("{} samples: a call takes 1 to {} (the compiled batch)", n, batch));
    if (n != batch && !recurrent_states.empty())
      throw Error(fmt::format("{} samples: a model with stateful layers runs whole batches of {} (row i of a batch "
                              "continues row i of the one before)",
                              n, batch));
  }

  // After `p` ran: the stateful layers' states it wrote are the newest.
  void ran(CompiledProgram& p) {
    if (!recurrent_states.empty()) updated_by(p);
  }

  void set_inputs(CompiledProgram& p, const std::vector<const void*>& in, int64_t n) {
    if (in.size() != inputs.size())
      throw Error(fmt::format("the model takes {} inputs, {} were given", inputs.size(), in.size()));
    for (size_t i = 0; i < in.size(); i++) p.set_input(inputs[i].name, in[i], n);
  }

  void get_outputs(CompiledProgram& p, const std::vector<void*>& out, int64_t n) {
    if (out.empty()) return;
    if (out.size() != outputs.size())
      throw Error(fmt::format("the model has {} outputs, {} were given", outputs.size(), out.size()));
    for (size_t i = 0; i < out.size(); i++)
      if (out[i]) p.get_output(outputs[i].name, out[i], n);
  }

  // The loss of an evaluation or training program on n samples.
  double run_loss(Kind k, const std::vector<const void*>& in, const std::vector<const void*>& tgt, int64_t n, float lr,
                  int64_t step, const std::vector<void*>& out) {
    CompiledProgram& p = program(k); // throws first for a model that cannot train
    check_samples(n);
    check_labels(tgt, n);
    sync(p);
    set_inputs(p, in, n);
    for (size_t i = 0; i < targets.size(); i++) p.set_input(targets[i].name, tgt[i], n);
    if (k == Kind::training) p.set_scalar("lr", lr);
    bool restore = k == Kind::training && !frozen.empty();
    if (restore) { // frozen at run time: their values before the step
      frozen_saved.resize(frozen.size());
      size_t i = 0;
      for (const std::string& name : frozen) {
        frozen_saved[i].resize(store.at(name).size());
        p.read(name, frozen_saved[i++].data());
      }
    }
    p.run(n, seed, uint64_t(step), k == Kind::training && training);
    if (restore) {
      size_t i = 0;
      for (const std::string& name : frozen) p.write(name, frozen_saved[i++].data());
    }
    if (k == Kind::training) updated_by(p);
    else ran(p);
    last_loss = k;
    get_outputs(p, out, n);
    return double(p.scalar_output("loss"));
  }
};

JitModel::JitModel(ProgramSource source, JitOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (source.batch < 1) throw Error(fmt::format("JIT: batch size {} must be at least 1", source.batch));
  m.batch = source.batch;
  m.can_train = source.can_train;
  m.source = std::move(source);
  m.options = options;
  // The graphs (not compiled): what the model reads, writes and keeps.
  ir::Graph fwd = m.source.graph(Kind::inference);
  for (ir::ValueId v : fwd.inputs()) m.inputs.push_back({fwd.value(v).name, fwd.type(v)});
  for (const auto& o : fwd.outputs()) m.outputs.push_back({o.name, fwd.type(o.value)});
  for (ir::ValueId v : fwd.states()) m.recurrent_states.push_back({fwd.value(v).name, fwd.type(v)});
  ir::Graph full = m.can_train ? m.source.graph(Kind::training) : std::move(fwd);
  if (m.can_train)
    for (const ProgramSource::Target& t : m.source.targets) {
      m.targets.push_back({t.name, full.type(full.find(t.name))});
      m.classes.push_back(t.classes);
    }
  for (ir::ValueId v : full.params()) m.persistent.push_back({full.value(v).name, full.type(v)});
  for (ir::ValueId v : full.states()) m.persistent.push_back({full.value(v).name, full.type(v)});
  for (const TensorSpec& t : m.persistent) m.store[t.name].assign(size_t(t.type.shape.numel()), 0.0f);
}

JitModel::~JitModel() = default;

int64_t JitModel::batch() const { return impl_->batch; }
const std::vector<TensorSpec>& JitModel::inputs() const { return impl_->inputs; }
const std::vector<TensorSpec>& JitModel::outputs() const { return impl_->outputs; }
bool JitModel::can_train() const { return impl_->can_train; }
const std::vector<TensorSpec>& JitModel::targets() const {
  if (!impl_->can_train) throw Error("the model has no training section: it has no target");
  return impl_->targets;
}

void JitModel::compile_inference() { impl_->program(Kind::inference); }
void JitModel::compile_training() { impl_->program(Kind::training); }

void JitModel::init(uint64_t seed) {
  ir::Graph g = impl_->source.graph(impl_->can_train ? Kind::training : Kind::inference);
  set_values(ir::init_params(g, seed));
  impl_->seed = seed;
}

void JitModel::set_seed(uint64_t seed) { impl_->seed = seed; }
uint64_t JitModel::seed() const { return impl_->seed; }
std::vector<TensorSpec> JitModel::persistent() const { return impl_->persistent; }

std::vector<float> JitModel::get(const std::string& name) const {
  Impl& m = *impl_;
  std::vector<float>& s = m.stored(name);
  if (m.owner && m.owner->has(name)) {
    std::vector<float> out(s.size());
    m.owner->read(name, out.data());
    return out;
  }
  return s;
}

void JitModel::set(const std::string& name, const std::vector<float>& values) {
  Impl& m = *impl_;
  std::vector<float>& s = m.stored(name);
  if (values.size() != s.size())
    throw Error(fmt::format("'{}' has {} elements, {} were given", name, s.size(), values.size()));
  m.pull_store();
  s = values;
  m.version++;
}

ir::Bindings JitModel::values() const {
  ir::Bindings b;
  for (const TensorSpec& t : impl_->persistent) b[t.name] = ir::Tensor(t.type, get(t.name));
  return b;
}

void JitModel::set_values(const ir::Bindings& values) {
  for (const TensorSpec& t : impl_->persistent) {
    auto it = values.find(t.name);
    if (it == values.end()) continue;
    if (it->second.type != t.type)
      throw Error(fmt::format("'{}' is {}, the value given is {}", t.name, t.type.str(), it->second.type.str()));
    set(t.name, it->second.to_float());
  }
}

void JitModel::infer(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, int64_t n) {
  Impl& m = *impl_;
  m.check_samples(n);
  CompiledProgram& p = m.program(Kind::inference);
  m.sync(p);
  m.set_inputs(p, inputs, n);
  p.run(n, m.seed, 0, false);
  m.ran(p);
  m.get_outputs(p, outputs, n);
}

double JitModel::train_step(const std::vector<const void*>& inputs, const std::vector<const void*>& target, int64_t n,
                            float lr, int64_t step, const std::vector<void*>& outputs) {
  return impl_->run_loss(Kind::training, inputs, target, n, lr, step, outputs);
}

int JitModel::set_frozen(const std::string& prefix, bool on) {
  Impl& m = *impl_;
  int params = 0;
  std::vector<std::string> names;
  for (const TensorSpec& t : m.persistent) names.push_back(t.name);
  ir::Graph fwd = m.source.graph(Kind::inference);
  for (ir::ValueId p : fwd.params()) {
    const std::string& name = fwd.value(p).name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    params++;
    for (const std::string& v : names) // the param and its optimizer slots "<param>.<slot>"
      if (v == name || (v.size() > name.size() + 1 && v.compare(0, name.size() + 1, name + ".") == 0)) {
        if (on) m.frozen.insert(v);
        else m.frozen.erase(v);
      }
  }
  if (params == 0)
    throw Error(fmt::format("set_frozen: no parameter's name starts with '{}'{}", prefix, did_you_mean(prefix, names)));
  return params;
}

double JitModel::input_gradients(const std::vector<const void*>& inputs, const std::vector<const void*>& targets,
                                 int64_t n, const std::vector<void*>& grads) {
  Impl& m = *impl_;
  std::vector<std::string> names;
  for (const TensorSpec& t : m.inputs)
    if (t.type.dtype == ir::DType::f32) names.push_back(passes::input_grad_name(t.name));
  if (grads.size() != names.size())
    throw Error(fmt::format("the model has {} f32 inputs, {} gradient arrays were given", names.size(), grads.size()));
  double loss = m.run_loss(Kind::input_gradient, inputs, targets, n, 0.0f, 0, {});
  CompiledProgram& p = m.program(Kind::input_gradient);
  for (size_t i = 0; i < names.size(); i++)
    if (grads[i]) p.get_output(names[i], grads[i], n);
  return loss;
}

double JitModel::training_scalar(const std::string& name) {
  return double(impl_->program(Kind::training).scalar_output(name));
}

std::vector<float> JitModel::loss_mask(int64_t n) {
  CompiledProgram& p = impl_->program(impl_->last_loss);
  const passes::NamedValue* v = p.program().find("loss_mask", true);
  if (!v) return {};
  std::vector<float> mask(size_t(v->type.shape.numel() / v->type.shape[0] * n));
  p.get_output("loss_mask", mask.data(), n);
  return mask;
}

double JitModel::evaluate(const std::vector<const void*>& inputs, const std::vector<const void*>& target, int64_t n,
                          const std::vector<void*>& outputs) {
  return impl_->run_loss(Kind::evaluation, inputs, target, n, 0.0f, 0, outputs);
}

std::vector<TensorSpec> JitModel::recurrent_states() const { return impl_->recurrent_states; }

void JitModel::reset_states() {
  for (const TensorSpec& t : impl_->recurrent_states) set(t.name, std::vector<float>(size_t(t.type.shape.numel()), 0.0f));
}

void JitModel::set_training(bool on) { impl_->training = on; }
bool JitModel::training() const { return impl_->training; }
double JitModel::compile_ms() const { return impl_->jit ? impl_->jit->compile_ms() : 0.0; }
double JitModel::pipeline_ms() const { return impl_->pipeline_ms; }
int64_t JitModel::allocated_bytes(passes::ProgramKind kind, passes::Region region) {
  return impl_->program(kind).allocated(region);
}

std::string JitModel::llvm_ir(bool training_program, bool optimized) const {
  Kind k = training_program ? Kind::training : Kind::inference;
  return module_text(impl_->program(k).program(), optimized, impl_->options, nullptr);
}

std::string print_llvm_module(const passes::Program& p, bool optimized, JitOptions options, double* compile_ms) {
  return module_text(p, optimized, options, compile_ms);
}

} // namespace dlc::codegen
