// emit_cpp: compiles the model's programs, lowers them, and prints net.h and net.cpp.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"
#include "passes/training.h"

#include <cctype>
#include <cstring>

namespace dlc::codegen {

using cpp::Block;
using cpp::Layout;
using cpp::Names;
using cpp::Persistent;
using cpp::Placed;
using cpp::Placement;
using cpp::Where;

void check_symbol_prefix(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
  if (!ok)
    throw Error(fmt::format("--name: '{}' cannot prefix C identifiers (letters, digits and '_', not starting with a digit)",
                            name));
}

namespace {

Block block_of(passes::Region r, Block constants) {
  if (r == passes::Region::state) return Block::state;
  if (r == passes::Region::arena) return Block::arena;
  return constants;
}

// Where `train`'s Refs live, and those of the other programs (inference, input gradient;
// their constants in block `constants`): their parameters and state that the training
// program keeps in its state region are read there (by name), so that a training step is
// visible to the next call without a copy.
Placement placement(const Program& p, Block constants, const Program* train) {
  bool is_train = constants == Block::train_constants;
  std::map<int, Where> shared; // buffer of p -> train's place
  if (!is_train && train)
    for (const NamedValue& v : p.interface) {
      if (v.output || (v.kind != ir::ValueKind::param && v.kind != ir::ValueKind::state)) continue;
      const NamedValue* t = train->find(v.name);
      if (!t || t->type != v.type) continue;
      Program::Place at = train->place(t->ref);
      if (at.region == passes::Region::state) shared[v.ref.buffer] = {Block::state, at.offset};
    }
  return [&p, constants, shared](const Ref& r) {
    if (auto it = shared.find(r.buffer); it != shared.end()) return Where{it->second.block, it->second.offset + r.offset};
    Program::Place at = p.place(r);
    return Where{block_of(at.region, constants), at.offset};
  };
}

// Params first, then optimizer state, each with every place it lives (training
// program first: it is the one whose values change).
std::vector<Persistent> persistent_values(const Program& infer, const Placement& infer_at, const Program* train,
                                          const Placement& train_at, const Program* grad, const Placement& grad_at) {
  std::vector<Persistent> out;
  auto add = [&](const Program& prog, const Placement& at, ir::ValueKind kind) {
    for (const NamedValue& v : prog.interface) {
      if (v.output || v.kind != kind) continue;
      Persistent* p = nullptr;
      for (Persistent& q : out)
        if (q.name == v.name) p = &q;
      if (!p) {
        const ir::Value& gv = prog.graph.value(prog.graph.find(v.name));
        out.push_back({v.name, kind, v.type, gv.init, {}});
        p = &out.back();
      }
      p->recurrent = p->recurrent || (&prog == &infer && kind == ir::ValueKind::state);
      Where w = at(v.ref);
      bool known = false;
      for (const Where& q : p->places) known = known || (q.block == w.block && q.offset == w.offset);
      if (!known) p->places.push_back(w);
    }
  };
  for (ir::ValueKind kind : {ir::ValueKind::param, ir::ValueKind::state}) {
    if (train) add(*train, train_at, kind);
    add(infer, infer_at, kind);
    if (grad) add(*grad, grad_at, kind);
  }
  return out;
}

Layout layout(const Program& infer, const Program* train, const Program* grad, const CppModel& model) {
  Placement infer_at = placement(infer, Block::infer_constants, train);
  Placement train_at = train ? placement(*train, Block::train_constants, nullptr) : Placement{};
  Placement grad_at = grad ? placement(*grad, Block::grad_constants, train) : Placement{};
  Layout l;
  l.batch = infer.batch;
  const auto& ir = infer.region_size;
  l.block_bytes[size_t(Block::infer_constants)] = ir[size_t(passes::Region::constants)];
  l.block_bytes[size_t(Block::state)] = ir[size_t(passes::Region::state)];
  l.block_bytes[size_t(Block::arena)] = ir[size_t(passes::Region::arena)];
  l.thread_workspace_bytes = std::max({infer.thread_workspace_bytes, train ? train->thread_workspace_bytes : 0,
                                       grad ? grad->thread_workspace_bytes : 0});
  if (train) {
    const auto& tr = train->region_size;
    l.block_bytes[size_t(Block::train_constants)] = tr[size_t(passes::Region::constants)];
    l.block_bytes[size_t(Block::state)] = std::max(tr[size_t(passes::Region::state)], l.block_bytes[size_t(Block::state)]);
    l.block_bytes[size_t(Block::arena)] = std::max(tr[size_t(passes::Region::arena)], l.block_bytes[size_t(Block::arena)]);
  }
  for (const NamedValue& v : infer.interface) {
    if (v.output) l.outputs.push_back({v, infer_at(v.ref)});
    else if (v.kind == ir::ValueKind::input) l.inputs.push_back({v, infer_at(v.ref)});
    else if (v.kind == ir::ValueKind::constant) l.constants.push_back({v, infer_at(v.ref)});
  }
  if (train) {
    for (const NamedValue& v : train->interface) {
      if (!v.output && v.kind == ir::ValueKind::input) l.train_inputs.push_back({v, train_at(v.ref)});
      if (!v.output && v.kind == ir::ValueKind::constant) l.constants.push_back({v, train_at(v.ref)});
      if (v.output && v.name == "loss") l.loss = Placed{v, train_at(v.ref)};
    }
    if (!l.loss) throw Error("C++ backend: the training program has no 'loss' output");
    l.schedule = model.schedule;
  }
  if (grad) {
    const auto& gr = grad->region_size;
    l.block_bytes[size_t(Block::grad_constants)] = gr[size_t(passes::Region::constants)];
    l.block_bytes[size_t(Block::state)] = std::max(gr[size_t(passes::Region::state)], l.block_bytes[size_t(Block::state)]);
    l.block_bytes[size_t(Block::arena)] = std::max(gr[size_t(passes::Region::arena)], l.block_bytes[size_t(Block::arena)]);
    for (const NamedValue& v : grad->interface) {
      if (!v.output && v.kind == ir::ValueKind::input) l.grad_inputs.push_back({v, grad_at(v.ref)});
      if (!v.output && v.kind == ir::ValueKind::constant) l.constants.push_back({v, grad_at(v.ref)});
      if (v.output && v.name == "loss") l.grad_loss = Placed{v, grad_at(v.ref)};
    }
    // The gradients in the order of the model's inputs.
    for (const Placed& in : l.inputs)
      for (const NamedValue& v : grad->interface)
        if (v.output && v.name == passes::input_grad_name(in.v.name)) l.grad_outputs.push_back({v, grad_at(v.ref)});
    if (!l.grad_loss || l.grad_outputs.size() != l.inputs.size())
      throw Error("C++ backend: the input-gradient program lacks its 'loss' or an input's gradient");
  }
  l.persistent = persistent_values(infer, infer_at, train, train_at, grad, grad_at);
  l.prepare = infer.prepare_count > 0;
  return l;
}

// The embedded weights: every param `weights` gives, as f32 bit patterns in one array.
std::string weights_table(const Layout& l, const ir::Bindings* weights, std::vector<int64_t>& offsets) {
  std::string data;
  int64_t at = 0;
  for (const Persistent& p : l.persistent) {
    auto it = weights ? weights->find(p.name) : ir::Bindings::const_iterator{};
    if (!weights || p.kind != ir::ValueKind::param || it == weights->end()) {
      offsets.push_back(-1);
      continue;
    }
    offsets.push_back(at);
    data += fmt::format("    // {} {}\n    ", cpp::comment_text(p.name), p.type.str());
    std::vector<float> f = it->second.to_float();
    for (size_t i = 0; i < f.size(); i++) {
      uint32_t bits;
      std::memcpy(&bits, &f[i], 4);
      data += fmt::format("0x{:08x}u,{}", bits, (i + 1) % 8 == 0 && i + 1 < f.size() ? "\n    " : " ");
    }
    data += "\n";
    at += int64_t(f.size());
  }
  if (at == 0) data = "    0u\n";
  return "const uint32_t kWeights[] = {\n" + data + "};\n";
}

// The program's kernels as functions, in the order they run, and the function running
// them: run_<prefix>; with weight preparation (Program::prepare_count), run_<prefix>_prepare
// runs the first kernels, once after the parameters change.
std::string program_functions(const Program& p, const Placement& at, const char* prefix, const char* what) {
  std::string s;
  for (const Kernel& k : p.kernels)
    s += "\n" + cpp::emit_kernel_function(p, k, at, fmt::format("{}_{}", prefix, k.c_name));
  auto runner = [&](const std::string& name, const std::string& comment, size_t begin, size_t end) {
    std::string r = fmt::format("\n// {}\nstatic void run_{}(const Mem& mem) {{\n", comment, name);
    for (size_t i = begin; i < end; i++) r += fmt::format("  {}_{}(mem);\n", prefix, p.kernels[i].c_name);
    return r + (begin == end ? "  (void)mem;\n}\n" : "}\n");
  };
  size_t first = size_t(p.prepare_count);
  if (first > 0)
    s += runner(fmt::format("{}_prepare", prefix),
                "The weights' preparation (batch normalisation folded into the weights before it): the first "
                "kernels\n// above, run once after the parameters change.",
                0, first);
  return s + runner(prefix, fmt::format("{}: the kernels above{}, in this order.", what, first ? " after those" : ""),
                    first, p.kernels.size());
}

const char* kPrologue = R"cc(
namespace {

// The memory one call of a program runs in, as the context's blocks: the program's
// constants, the state that persists across calls (parameters, optimizer state) and the
// arena that everything else shares as planned (a buffer's offset there is fixed by the
// memory plan); then the samples n in this call and what dropout masks depend on.
struct Mem {
  unsigned char *constants, *state, *arena;
  int64_t n;
  uint64_t seed, step;
  int64_t training;
};

[[maybe_unused]] inline float* f32(unsigned char* p) { return reinterpret_cast<float*>(p); }
[[maybe_unused]] inline int32_t* i32(unsigned char* p) { return reinterpret_cast<int32_t*>(p); }

} // namespace
)cc";

} // namespace

CppFiles emit_cpp(const CppModel& model, const ir::Bindings* weights, const CppOptions& o) {
  check_symbol_prefix(o.name);
  cpp::check_include_name(o.header_file);
  Names names{o.name, o.name};
  for (char& ch : names.upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  if (!model.infer || (o.train && !model.train) || (o.input_grad && (!model.grad || !o.train)))
    throw Error("C++ backend: a program to emit is missing");
  const Program& infer = *model.infer;
  const Program* train = o.train ? model.train : nullptr;
  const Program* grad = o.input_grad ? model.grad : nullptr;
  for (const Program* p : {&infer, train, grad})
    if (p && !p->planned) throw Error("C++ backend: the program has not been planned");
  int64_t batch = infer.batch;
  Layout l = layout(infer, train, grad, model);
  std::vector<int64_t> weight_offsets;
  std::string wtable = weights_table(l, o.extern_weights ? nullptr : weights, weight_offsets);

  // User text (the model's path and name, the file names) only ever reaches comments
  // through comment_text, and the #include through check_include_name.
  std::string from = o.source.empty() ? "a model" : cpp::comment_text(o.source);
  std::string banner = fmt::format("/* {}: generated by dlc from {} (model '{}', batch {}{}). Do not edit. */\n",
                                   cpp::comment_text(o.header_file), from, cpp::comment_text(model.name), batch,
                                   o.train ? ", inference and training" : ", inference");
  CppFiles f;
  f.header = cpp::emit_header(names, l, o, banner);
  f.source = fmt::format("// {}: generated by dlc from {} (model '{}'). Do not edit.\n"
                         "// Build: c++ -std=c++17 -O2 -c {} (dlc_runtime.h and {} beside it). See docs/codegen.md.\n"
                         "#include \"{}\"\n#include \"{}\"\n\n"
                         "#include <algorithm>\n#include <cerrno>\n#include <cmath>\n#include <cstdarg>\n#include <cstdio>\n#include <cstdlib>\n#include <cstring>\n"
                         "#include <limits>\n#include <map>\n#include <new>\n#include <string>\n#include <vector>\n",
                         cpp::comment_text(o.source_file), from, cpp::comment_text(model.name),
                         cpp::comment_text(o.source_file), cpp::comment_text(o.header_file), o.header_file,
                         kRuntimeHeaderFile);
  f.source += kPrologue;
  f.source += "\n// ---- inference: the forward program ------------------------------------------\n";
  f.source += program_functions(infer, placement(infer, Block::infer_constants, train), "infer", "Inference");
  if (train) {
    f.source += "\n// ---- training: forward, loss, backward and optimizer update (each parameter is\n"
                "// updated by the kernel that finishes its gradient) --------------------------\n";
    f.source += program_functions(*train, placement(*train, Block::train_constants, nullptr), "train", "One training step");
  }
  if (grad) {
    f.source += "\n// ---- input gradient: forward and loss as in evaluation, backward to the inputs ---\n";
    f.source += program_functions(*grad, placement(*grad, Block::grad_constants, train), "input_grad",
                                  "The loss's gradient with respect to the inputs");
  }
  f.source += cpp::emit_api(names, l, o, wtable, weight_offsets);
  if (o.emit_main) f.source += cpp::emit_main_function(names, l, o);
  f.runtime = runtime_bundle_text();
  return f;
}

} // namespace dlc::codegen
