// emit_cpp: compiles the model's programs, lowers them, and prints net.h and net.cpp.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"
#include "passes/pass_manager.h"
#include "passes/training.h"

#include <cctype>
#include <cstring>

namespace dlc::codegen {

using cpp::Block;
using cpp::Layout;
using cpp::Names;
using cpp::Persistent;

void check_symbol_prefix(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
  if (!ok)
    throw Error(fmt::format("--name: '{}' cannot prefix C identifiers (letters, digits and '_', not starting with a digit)",
                            name));
}

namespace {

struct Compiled {
  passes::Program program;
  Lowered lowered;
};

Compiled compile(ir::Graph g) {
  passes::Program p = passes::run_pipeline(std::move(g), passes::default_pipeline());
  Lowered l = lower(p);
  return {std::move(p), std::move(l)};
}

Block block_of(passes::Region r, bool train) {
  if (r == passes::Region::state) return Block::state;
  if (r == passes::Region::arena) return Block::arena;
  return train ? Block::train_constants : Block::infer_constants;
}

// Params first, then optimizer state, each with every place it lives (training
// program first: it is the one whose values change).
std::vector<Persistent> persistent_values(const Compiled& infer, const Compiled* train) {
  std::vector<Persistent> out;
  auto add = [&](const Compiled& c, bool is_train, ir::ValueKind kind) {
    for (const NamedValue& v : c.lowered.values) {
      if (v.output || v.kind != kind) continue;
      Persistent* p = nullptr;
      for (Persistent& q : out)
        if (q.name == v.name) p = &q;
      if (!p) {
        const ir::Value& gv = c.program.graph.value(c.program.graph.find(v.name));
        out.push_back({v.name, kind, v.type, gv.init, {}});
        p = &out.back();
      }
      std::pair<Block, int64_t> place{block_of(v.ref.region, is_train), v.ref.offset};
      if (std::find(p->places.begin(), p->places.end(), place) == p->places.end()) p->places.push_back(place);
    }
  };
  for (ir::ValueKind kind : {ir::ValueKind::param, ir::ValueKind::state}) {
    if (train) add(*train, true, kind);
    add(infer, false, kind);
  }
  return out;
}

Layout layout(const Compiled& infer, const Compiled* train, const frontend::Model& model) {
  Layout l;
  l.batch = infer.lowered.batch;
  const auto& ir = infer.lowered.region_size;
  l.block_bytes[size_t(Block::infer_constants)] = ir[size_t(passes::Region::constants)];
  l.block_bytes[size_t(Block::state)] = ir[size_t(passes::Region::state)];
  l.block_bytes[size_t(Block::arena)] = ir[size_t(passes::Region::arena)];
  if (train) {
    const auto& tr = train->lowered.region_size;
    l.block_bytes[size_t(Block::train_constants)] = tr[size_t(passes::Region::constants)];
    l.block_bytes[size_t(Block::state)] = std::max(tr[size_t(passes::Region::state)], l.block_bytes[size_t(Block::state)]);
    l.block_bytes[size_t(Block::arena)] = std::max(tr[size_t(passes::Region::arena)], l.block_bytes[size_t(Block::arena)]);
  }
  for (const NamedValue& v : infer.lowered.values) {
    if (v.output) l.outputs.push_back(v);
    else if (v.kind == ir::ValueKind::input) l.inputs.push_back(v);
    else if (v.kind == ir::ValueKind::constant) l.constants.push_back({Block::infer_constants, v});
  }
  if (train) {
    for (const NamedValue& v : train->lowered.values) {
      if (!v.output && v.kind == ir::ValueKind::input) l.train_inputs.push_back(v);
      if (!v.output && v.kind == ir::ValueKind::constant) l.constants.push_back({Block::train_constants, v});
      if (v.output && v.name == "loss") l.loss = &v;
    }
    if (!l.loss) throw Error("C++ backend: the training program has no 'loss' output");
    l.default_lr = passes::scheduled_lr(model.training.optimizer, 0, 0);
  }
  l.persistent = persistent_values(infer, train);
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

std::string run_function(const char* name, const Lowered& l, const char* prefix) {
  std::string s = fmt::format("// The {} kernels in their planned order.\nstatic void run_{}(const Mem& m) {{\n", name, prefix);
  for (const LoweredKernel& k : l.kernels) s += fmt::format("  {}_{}(m);\n", prefix, k.c_name);
  if (l.kernels.empty()) s += "  (void)m;\n";
  return s + "}\n";
}

std::string kernels(const Lowered& l, const char* prefix) {
  std::string s;
  for (const LoweredKernel& k : l.kernels) s += "\n" + cpp::emit_kernel_function(k, std::string(prefix) + "_");
  return s;
}

const char* kPrologue = R"cc(
namespace {

// The three regions of the program being run (constants, state, arena), the batch of this
// call and the values dropout masks depend on.
struct Mem {
  unsigned char* r[3];
  int64_t n;
  uint64_t seed, step;
  int64_t training;
};

inline float* F(const Mem& m, int region, int64_t offset) { return reinterpret_cast<float*>(m.r[region] + offset); }
[[maybe_unused]] inline int32_t* I32(const Mem& m, int region, int64_t offset) {
  return reinterpret_cast<int32_t*>(m.r[region] + offset);
}

} // namespace
)cc";

} // namespace

CppFiles emit_cpp(const frontend::Model& model, const ir::Bindings* weights, const CppOptions& o) {
  check_symbol_prefix(o.name);
  cpp::check_include_name(o.header_file);
  Names names{o.name, o.name};
  for (char& ch : names.upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  int64_t batch = o.batch > 0 ? o.batch : model.training.batch_size;
  ir::Graph forward = frontend::build_model(model, batch).graph;
  Compiled infer = compile(forward);
  std::unique_ptr<Compiled> train;
  if (o.train) {
    train = std::make_unique<Compiled>(compile(passes::build_training_graph(forward, model.training).graph));
    share_persistent(infer.lowered, train->lowered);
  }
  Layout l = layout(infer, train.get(), model);
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
  f.source += kernels(infer.lowered, "infer") + "\n" + run_function("inference", infer.lowered, "infer");
  if (train) {
    f.source += "\n// ---- training: forward, loss, backward and optimizer update (each parameter is\n"
                "// updated by the kernel that finishes its gradient) --------------------------\n";
    f.source += kernels(train->lowered, "train") + "\n" + run_function("training", train->lowered, "train");
  }
  f.source += cpp::emit_api(names, l, o, wtable, weight_offsets);
  if (o.emit_main) f.source += cpp::emit_main_function(names, l, o);
  f.runtime = runtime_bundle_text();
  return f;
}

} // namespace dlc::codegen
