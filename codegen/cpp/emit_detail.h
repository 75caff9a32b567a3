// Internals of the C++ emitter (codegen/cpp/*.cpp).
#pragma once

#include "codegen/cpp/emit.h"
#include "codegen/backend.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlc::codegen::cpp {

// User text (paths, names) in emitted source. comment_text: safe inside `//` and `/* */`
// comments (non-printable and non-ASCII bytes, '\\', '?' and '*' as \xNN;
// at most `max_chars` bytes shown). string_literal: a quoted C/C++ string literal.
// check_include_name: throws unless `file` can be written in `#include "file"`.
std::string comment_text(std::string_view s, size_t max_chars = 200);
std::string string_literal(std::string_view s);
void check_include_name(const std::string& file);

// Exact literals: a float that reads back as the same f32, a double as the same f64.
std::string float_literal(double v);
std::string double_literal(double v);

// The C identifiers of the emitted code for symbol prefix `name` ("net"): net_infer, NET_BATCH.
struct Names {
  std::string lower, upper;
  std::string fn(const char* s) const { return lower + "_" + s; }
  std::string macro(const char* s) const { return upper + "_" + s; }
};

// Fixed C++ text with "$P" replaced by the lower-case prefix and "$U" by the upper-case one.
inline std::string with_names(std::string text, const Names& n) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"$P", n.lower}, {"$U", n.upper}})
    for (size_t at; (at = text.find(key)) != std::string::npos;) text.replace(at, key.size(), value);
  return text;
}

// Where the context's memory blocks are (index into the context's regions array).
enum class Block { infer_constants = 0, train_constants = 1, state = 2, arena = 3, grad_constants = 4 };
constexpr int kBlocks = 5;
constexpr int kMaxPlaces = 3; // the programs that may hold a copy of a parameter

// A place in the context's memory.
struct Where {
  Block block = Block::arena;
  int64_t offset = 0;
};

// Where a program's Refs live (emit.cpp): the planned place, except that the inference
// program reads the parameters and state the training program keeps in the state block.
using Placement = std::function<Where(const Ref&)>;

// An interface value and its place.
struct Placed {
  NamedValue v;
  Where at;
};

// Kernel `k` of program `p` as `static void <fn_name>(const Mem& mem)` (emit_kernels.cpp).
std::string emit_kernel_function(const Program& p, const Kernel& k, const Placement& at, const std::string& fn_name);

// A persistent value (param or optimizer state) and every place it lives.
struct Persistent {
  std::string name;
  ir::ValueKind kind = ir::ValueKind::param;
  ir::TensorType type;
  ir::Initializer init;
  std::vector<Where> places; // places[0] is read
  bool recurrent = false;    // a stateful recurrent layer's state (graph state of inference)
};

// What the API text needs beyond the kernels.
struct Layout {
  int64_t batch = 0;
  std::array<int64_t, kBlocks> block_bytes{};
  int64_t thread_workspace_bytes = 0; // per kernel thread beyond the caller (Program::thread_workspace_bytes)
  std::vector<Placed> inputs, outputs; // of the inference program
  std::vector<Placed> train_inputs;    // the training program's inputs: the model's, the targets and "lr"
  std::optional<Placed> loss;          // the training program's "loss" output
  std::vector<Placed> grad_inputs;     // the input-gradient program's inputs: the model's, then the targets
  std::vector<Placed> grad_outputs;    // its gradients, one per model input, in input order
  std::optional<Placed> grad_loss;     // its "loss" output
  dlc_rt::Schedule schedule{};          // CppModel::schedule
  std::vector<Persistent> persistent;  // params first, then state
  std::vector<Placed> constants;       // graph constants
  bool prepare = false;                // the inference program prepares its weights (run_infer_prepare)
};

// A training program's target input: "target" (one loss) or "target.<output>" (several).
inline bool is_target_input(const std::string& name) { return name == "target" || name.rfind("target.", 0) == 0; }

std::string emit_header(const Names& n, const Layout& l, const CppOptions& o, const std::string& banner);
// `weights_table` defines kWeights; weight_offsets[i]: where persistent[i] starts in it (-1: not embedded).
std::string emit_api(const Names& n, const Layout& l, const CppOptions& o, const std::string& weights_table,
                     const std::vector<int64_t>& weight_offsets);
std::string emit_main_function(const Names& n, const Layout& l, const CppOptions& o);

} // namespace dlc::codegen::cpp
