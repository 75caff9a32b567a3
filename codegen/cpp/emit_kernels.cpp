// Kernels as C++ functions that read like a hand-written trainer: a comment with the
// graph nodes the kernel computes, every tensor bound once at the top as a named pointer
// into its memory block, then a call per runtime step (arguments named where they are
// numbers) and a plain counted loop per element-wise step (a long loop split into blocks
// across the context's threads by dlc_rt::parallel_range). In loops, values used once are
// written where they are used; values used again, and optimizer updates (whose state
// slots the formula updates in place), get a local named after the graph value. The loops
// are written so that compilers vectorise them: an int64_t induction variable, stride-1 or
// loop-invariant index arithmetic, no function pointers.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"
#include "passes/loop_axes.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace dlc::codegen::cpp {

namespace {

// Identifiers a tensor's name must not take: C++ keywords and what the function bodies use.
const std::set<std::string>& reserved_identifiers() {
  static const std::set<std::string> r = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
      "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
      "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
      "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
      "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
      "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
      // the kernels' own names
      "mem", "n", "i", "t", "i0", "i1", "i2", "i3", "i4", "i5", "begin", "end", "f32", "i32", "std", "int64_t", "int32_t", "uint64_t", "size_t", "Mem"};
  return r;
}

// The identifiers of one function: each a C identifier made from a graph name, unique in
// the function, never a keyword or a name the body relies on (dlc_*, DLC_*, mem, i, ...).
class LocalNames {
public:
  std::string take(const std::string& text) {
    std::string base;
    for (char ch : text) {
      if (std::isalnum(static_cast<unsigned char>(ch))) base += ch;
      else if (!base.empty() && base.back() != '_') base += '_';
    }
    while (!base.empty() && base.back() == '_') base.pop_back();
    auto lower = [](std::string s) {
      for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      return s;
    };
    if (base.empty() || std::isdigit(static_cast<unsigned char>(base[0])) || reserved_identifiers().count(base) ||
        lower(base).rfind("dlc_", 0) == 0)
      base = "t_" + base;
    std::string name = base;
    for (int k = 2; !used_.insert(name).second; k++) name = fmt::format("{}_{}", base, k);
    return name;
  }

private:
  std::set<std::string> used_;
};

// The field of Mem holding a block.
const char* mem_field(Block b) {
  return b == Block::state ? "state" : b == Block::arena ? "arena" : "constants";
}

std::string extent(Extent e) {
  if (!e.batched) return std::to_string(e.per);
  return e.per == 1 ? "n" : fmt::format("{} * n", e.per);
}

std::string index_expr(const Index& idx) {
  if (idx.scalar()) return "0";
  std::string s;
  for (const IndexTerm& t : idx.terms) {
    std::string term = t.div == 1 ? "i" : fmt::format("i / {}", t.div);
    if (t.mod) term = t.div == 1 ? fmt::format("i % {}", t.mod) : fmt::format("{} % {}", term, t.mod);
    if (t.mul != 1) term = fmt::format("({}) * {}", term, t.mul);
    s += (s.empty() ? "" : " + ") + term;
  }
  return s;
}

// `code` broken after commas so that lines stay within 100 columns, continuation lines
// starting with `indent` and 4 more spaces (`continuation`, when given).
std::string wrapped(const std::string& indent, const std::string& code, std::string continuation = "") {
  constexpr size_t kWidth = 100;
  if (indent.size() + code.size() <= kWidth) return indent + code + "\n";
  if (continuation.empty()) continuation = indent + "    ";
  std::string out, line = indent;
  size_t at = 0;
  while (at < code.size()) {
    size_t comma = code.find(", ", at);
    size_t piece_end = comma == std::string::npos ? code.size() : comma + 1;
    std::string piece = code.substr(at, piece_end - at);
    if (line.size() + piece.size() > kWidth && line.size() > continuation.size()) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
      line = continuation;
    }
    line += piece;
    at = piece_end;
    if (at < code.size() && code[at] == ' ') {
      line += ' ';
      at++;
    }
  }
  return out + line + "\n";
}

// Each line of `block` (newline-terminated lines) through wrapped().
std::string wrapped_lines(const std::string& indent, const std::string& block) {
  std::string s;
  for (size_t at = 0; at < block.size();) {
    size_t nl = block.find('\n', at);
    s += wrapped(indent, block.substr(at, nl - at));
    at = nl + 1;
  }
  return s;
}

// One kernel as a function.
class KernelWriter {
public:
  KernelWriter(const Program& p, const Kernel& k, const Placement& at) : p_(p), k_(k), at_(at) {}

  std::string function(const std::string& fn_name) {
    note_writes();
    std::string body = steps(k_.steps);
    std::string s = comment();
    s += fmt::format("static void {}(const Mem& mem) {{\n", fn_name);
    if (k_.steps.empty()) s += "  (void)mem;\n";
    if (uses_n_) s += "  const int64_t n = mem.n; // samples in this call\n";
    for (const Pointer& ptr : pointers_) s += ptr.declaration;
    return s + body + "}\n";
  }

private:
  struct Pointer {
    int buffer;
    ir::DType dtype;
    std::string name, declaration;
  };

  const Program& p_;
  const Kernel& k_;
  const Placement& at_;
  LocalNames names_;
  std::vector<Pointer> pointers_;
  std::set<int> written_; // buffers the kernel writes
  bool uses_n_ = false;

  // The graph nodes of the kernel, one per line: results = op(operands).
  std::string comment() const {
    const ir::Graph& g = p_.graph;
    std::string s;
    for (int id : k_.nodes) {
      const ir::Node& n = g.node(id);
      std::string results, operands;
      for (ir::ValueId r : n.results) results += (results.empty() ? "" : ", ") + g.value(r).name;
      for (ir::ValueId o : n.operands) operands += (operands.empty() ? "" : ", ") + g.value(o).name;
      s += wrapped("", "// " + comment_text(fmt::format("{} = {}({})", results, n.op->name, operands), 2000),
                   "//     ");
    }
    return s;
  }

  std::string extent_of(Extent e) {
    uses_n_ = uses_n_ || e.batched;
    return extent(e);
  }

  // The named pointer to the start of buffer `r.buffer` (declared once, at the top of the
  // function), plus r's element offset.
  std::string pointer(const Ref& r) {
    if (r.dtype != ir::DType::f32 && r.dtype != ir::DType::i32)
      throw Error(fmt::format("C++ backend: no pointer type for {}", ir::dtype_name(r.dtype)));
    const Pointer* found = nullptr;
    for (const Pointer& ptr : pointers_)
      if (ptr.buffer == r.buffer && ptr.dtype == r.dtype) found = &ptr;
    if (!found) {
      const passes::Buffer& b = p_.buffers.at(size_t(r.buffer));
      bool workspace = b.kind == passes::BufferKind::workspace;
      bool temporary = b.kind == passes::BufferKind::temporary && b.value != ir::kNoValue;
      Pointer ptr{r.buffer, r.dtype,
                  names_.take(workspace ? "workspace" : temporary ? p_.graph.value(b.value).name : b.name), ""};
      Where w = at_(Ref{r.buffer, 0, r.dtype});
      bool f32 = r.dtype == ir::DType::f32;
      std::string what = workspace ? fmt::format("{} floats of scratch", b.type.shape.numel())
                         : temporary ? fmt::format("{}, a temporary", b.type.str())
                             : b.type.str();
      ptr.declaration = fmt::format("  {}{}* {} = {}(mem.{} + {}); // {}\n", written_.count(r.buffer) ? "" : "const ",
                                    f32 ? "float" : "int32_t", ptr.name, f32 ? "f32" : "i32", mem_field(w.block),
                                    w.offset, comment_text(what));
      pointers_.push_back(ptr);
      found = &pointers_.back();
    }
    int64_t elements = r.offset / ir::dtype_size(r.dtype);
    return elements == 0 ? found->name : fmt::format("{} + {}", found->name, elements);
  }

  // Buffers written by the kernel's steps: their pointers are not const.
  void note_writes(const std::vector<Step>& steps) {
    for (const Step& st : steps) {
      for (const Arg& a : st.call.args)
        if (a.kind == ArgKind::pointer && a.written) written_.insert(a.ref.buffer);
      for (const LoopStore& s : st.loop.stores) written_.insert(st.loop.operands[size_t(s.operand)].ref.buffer);
      note_writes(st.repeat.steps);
    }
  }
  void note_writes() { note_writes(k_.steps); }

  // Steps in order; a Repeat is a counted loop over t around its steps.
  std::string steps(const std::vector<Step>& list) {
    std::string s;
    for (const Step& st : list) {
      if (st.kind == StepKind::call) s += call(st.call);
      else if (st.kind == StepKind::loop) s += loop(st.loop);
      else s += repeat(st.repeat);
    }
    return s;
  }

  std::string repeat(const Repeat& r) {
    std::string head = r.reverse ? fmt::format("for (int64_t t = {}; t >= 0; t--) {{", r.trip - 1)
                                 : fmt::format("for (int64_t t = 0; t < {}; t++) {{", r.trip);
    std::string s = fmt::format("  {} // {}: {} steps{}\n", head, comment_text(r.name), r.trip,
                                r.reverse ? ", last first" : "");
    std::string inner = steps(r.steps);
    size_t at = 0;
    while (at < inner.size()) { // one level deeper
      size_t nl = inner.find('\n', at);
      s += "  " + inner.substr(at, nl - at + 1);
      at = nl + 1;
    }
    return s + "  }\n";
  }

  std::string argument(const Arg& a) {
    std::string named = "/*" + comment_text(a.name) + "=*/";
    switch (a.kind) {
    case ArgKind::pointer: return pointer(a.ref);
    case ArgKind::null: return named + "nullptr";
    case ArgKind::integer: return a.symbol.empty() ? named + extent_of(a.integer) : a.symbol;
    case ArgKind::real: return named + float_literal(a.real);
    case ArgKind::run_value:
      return named + (a.run == RunValue::seed ? "mem.seed" : a.run == RunValue::step ? "mem.step" : "mem.training");
    }
    return "?";
  }

  std::string call(const Call& c) {
    std::string s = c.fn + "(";
    for (size_t i = 0; i < c.args.size(); i++) s += (i ? ", " : "") + argument(c.args[i]);
    return wrapped("  ", s + ");");
  }

  std::string loop(const Loop& l);
  std::string nest(const std::vector<passes::LoopAxis>& axes, const Loop& l, const std::string& invariants,
                   const std::vector<std::string>& lines, bool uses_index);
};

constexpr size_t kMaxNest = 6; // deeper nests are written as one flat loop (i0 .. i5 are reserved)

// An element-wise loop. Statements (values used more than once, updates with their state
// slots) come first, then the stores in order; an expression used once is written where
// it is used. A store after the first may overwrite what a later read would see (outputs
// can take their inputs' memory), so whatever it reads from memory is computed before the
// first store.
std::string KernelWriter::loop(const Loop& l) {
  const size_t ne = l.body.size();
  std::vector<int> uses(ne, 0); // uses of each value (an update's projections read its slots, not it)
  for (const ScalarExpr& e : l.body)
    if (e.kind != ScalarExpr::project)
      for (int a : e.args) uses[size_t(a)]++;
  for (const LoopStore& st : l.stores) uses[size_t(st.expr)]++;
  std::vector<bool> written_operand(l.operands.size(), false);
  for (const LoopStore& st : l.stores) written_operand[size_t(st.operand)] = true;

  // Which expressions read memory, themselves or through what they inline.
  auto has_slots = [&](const ScalarExpr& e) {
    return e.kind == ScalarExpr::op && ir::get_op(e.op_name).scalar->slots > 0;
  };
  std::vector<bool> statement(ne, false), reads(ne, false);
  for (size_t e = 0; e < ne; e++) {
    const ScalarExpr& x = l.body[e];
    statement[e] = x.kind == ScalarExpr::op && (uses[e] > 1 || has_slots(x));
    const Operand& xo = l.operands[size_t(std::max(x.operand, 0))];
    reads[e] = x.kind == ScalarExpr::read && !(xo.index.scalar() && !xo.step_stride && !written_operand[size_t(x.operand)]);
    for (int a : x.args) reads[e] = reads[e] || (!statement[size_t(a)] && reads[size_t(a)]);
  }
  for (size_t s = 1; s < l.stores.size(); s++) {
    size_t e = size_t(l.stores[s].expr);
    if (l.body[e].kind != ScalarExpr::project && reads[e]) statement[e] = true;
  }

  // Pointers and loop-invariant scalars (a learning rate, Adam's bias corrections), read
  // once before the loop: inside, a store through another pointer could alias them for
  // all the compiler knows, so it would reload them at every element. In a split loop this
  // happens in each block (a lambda's by-reference captures are loads through its closure).
  // A nest of loops where the operands' index arithmetic has one (passes/loop_axes.h): the
  // inner loop walks every operand at a constant stride, which compilers vectorise.
  std::vector<Index> indexes;
  for (const Operand& op : l.operands) indexes.push_back(op.index);
  std::optional<std::vector<passes::LoopAxis>> axes = passes::loop_axes(l.trip, indexes);
  if (axes && (axes->size() < 2 || axes->size() > kMaxNest)) axes.reset();
  auto offset = [&](size_t o) {
    if (!axes) return index_expr(l.operands[o].index);
    std::string s;
    for (size_t j = 0; j < axes->size(); j++) {
      int64_t st = (*axes)[j].strides[o + 1];
      if (st) s += (s.empty() ? "" : " + ") + (st == 1 ? fmt::format("i{}", j) : fmt::format("i{} * {}", j, st));
    }
    return s.empty() ? std::string("0") : s;
  };
  std::vector<std::string> operand(l.operands.size());
  std::string invariants;
  for (size_t o = 0; o < l.operands.size(); o++) {
    const Operand& op = l.operands[o];
    if (op.ref.dtype != ir::DType::f32)
      throw Error(fmt::format("C++ backend: element-wise operand %{} is not f32", op.name));
    std::string ptr = pointer(op.ref);
    if (ptr.find(' ') != std::string::npos) ptr = "(" + ptr + ")";
    if (op.index.scalar() && !written_operand[o] && !op.step_stride) {
      operand[o] = names_.take(op.name + "_value");
      invariants += fmt::format("const float {} = {}[0];\n", operand[o], ptr);
    } else {
      std::string idx = offset(o);
      if (op.step_stride) // inside a Repeat: step t's slice
        idx = (idx == "0" ? "" : idx + " + ") + fmt::format("t * {}", op.step_stride);
      operand[o] = ptr + "[" + idx + "]";
    }
  }

  bool uses_index = false;            // a formula takes the element's flat index i
  std::vector<std::string> text(ne); // each expression as C++: a name or an inline expression
  std::vector<std::string> lines;
  std::vector<std::vector<std::string>> slot_names(ne);
  for (size_t e = 0; e < ne; e++) {
    const ScalarExpr& x = l.body[e];
    if (x.kind == ScalarExpr::read) {
      text[e] = operand[size_t(x.operand)];
      if (statement[e]) {
        std::string name = names_.take(l.operands[size_t(x.operand)].name + "_i");
        lines.push_back(fmt::format("const float {} = {};", name, text[e]));
        text[e] = name;
      }
      continue;
    }
    if (x.kind == ScalarExpr::project) {
      text[e] = slot_names[size_t(x.args[0])].at(size_t(x.result - 1));
      continue;
    }
    std::string args;
    for (const ScalarArg& a : scalar_arguments(x)) {
      std::string v;
      switch (a.kind) {
      case ScalarArg::operand: v = text[size_t(x.args[size_t(a.arg)])]; break;
      case ScalarArg::slot: { // a variable the formula replaces in place, named after its new value
        std::string name;
        for (const ScalarExpr& y : l.body)
          if (y.kind == ScalarExpr::project && y.args[0] == int(e) && y.result == int(slot_names[e].size()) + 1)
            name = y.value;
        if (name.empty()) name = x.value + fmt::format(".slot{}", slot_names[e].size() + 1);
        v = names_.take(name + "_i");
        lines.push_back(fmt::format("float {} = {};", v, text[size_t(x.args[size_t(a.arg)])]));
        slot_names[e].push_back(v);
        break;
      }
      case ScalarArg::constant:
        v = (a.name.empty() ? "" : "/*" + comment_text(a.name) + "=*/") +
            (a.type == ir::ScalarType::f32   ? float_literal(a.value)
             : a.type == ir::ScalarType::f64 ? double_literal(a.value)
                                             : fmt::format("int64_t({})", int64_t(a.value)));
        break;
      case ScalarArg::seed: v = "mem.seed"; break;
      case ScalarArg::step: v = "mem.step"; break;
      case ScalarArg::training: v = "mem.training"; break;
      case ScalarArg::index: v = "i", uses_index = true; break;
      }
      args += (args.empty() ? "" : ", ") + v;
    }
    std::string value = "dlc_scalar_" + x.op_name + "(" + args + ")";
    if (!statement[e]) {
      text[e] = value;
      continue;
    }
    text[e] = names_.take((x.value.empty() ? "v" : x.value) + "_i");
    lines.push_back(fmt::format("const float {} = {};", text[e], value));
  }
  // An update that only the first store uses is computed right into it (nothing is read
  // between), rather than into a local first.
  if (!l.stores.empty() && !lines.empty()) {
    size_t e = size_t(l.stores[0].expr);
    std::string decl = fmt::format("const float {} = ", text[e]);
    if (statement[e] && uses[e] == 1 && lines.back().rfind(decl, 0) == 0) {
      lines.back() = fmt::format("{} = {}", operand[size_t(l.stores[0].operand)], lines.back().substr(decl.size()));
      text[e].clear();
    }
  }
  for (const LoopStore& st : l.stores)
    if (!text[size_t(st.expr)].empty()) lines.push_back(fmt::format("{} = {};", operand[size_t(st.operand)], text[size_t(st.expr)]));

  std::string trip = extent_of(l.trip);
  std::string s;
  std::string indent = "  ";
  if (axes) return s + nest(*axes, l, invariants, lines, uses_index);
  if (l.grain > 0) {
    s += fmt::format("  dlc_rt::parallel_range({}, {}, [&](int64_t begin, int64_t end) {{\n", trip, l.grain);
    indent = "    ";
  }
  s += wrapped_lines(indent, invariants);
  std::string range = l.grain > 0 ? "int64_t i = begin; i < end; i++" : fmt::format("int64_t i = 0; i < {}; i++", trip);
  if (lines.size() == 1 && indent.size() + lines[0].size() + range.size() + 7 <= 100) {
    s += fmt::format("{}for ({}) {}\n", indent, range, lines[0]);
  } else {
    s += fmt::format("{}for ({}) {{\n", indent, range);
    for (const std::string& line : lines) s += wrapped(indent + "  ", line);
    s += indent + "}\n";
  }
  if (l.grain > 0) s += "  });\n";
  return s;
}

// for (i0 ...) for (i1 ...) ... around the loop's lines. A loop split across threads
// splits the outermost axis, in blocks of at least `grain` elements, as the JIT does.
std::string KernelWriter::nest(const std::vector<passes::LoopAxis>& axes, const Loop& l, const std::string& invariants,
                               const std::vector<std::string>& lines, bool uses_index) {
  std::string s, indent = "  ";
  Extent outer = axes[0].extent;
  bool split = l.grain > 0 && outer.at(p_.batch) > 1;
  if (split) {
    s += fmt::format("  dlc_rt::parallel_range({}, {}, [&](int64_t begin, int64_t end) {{\n", extent_of(outer),
                     passes::outer_grain(l, outer, p_.batch));
    indent = "    ";
  }
  s += wrapped_lines(indent, invariants);
  // The inner loop's iterations are independent when each writes elements of its own
  // (DLC_IVDEP, runtime/kernels/scalar.h).
  bool independent = true;
  for (const LoopStore& st : l.stores) independent = independent && axes.back().strides[size_t(st.operand) + 1] != 0;
  for (size_t j = 0; j < axes.size(); j++) {
    std::string range = j == 0 && split ? "int64_t i0 = begin; i0 < end; i0++"
                                        : fmt::format("int64_t i{0} = 0; i{0} < {1}; i{0}++", j, extent_of(axes[j].extent));
    s += fmt::format("{}{}for ({}) {{\n", indent, j + 1 == axes.size() && independent ? "DLC_IVDEP " : "", range);
    indent += "  ";
  }
  if (uses_index) {
    std::string flat;
    for (size_t j = 0; j < axes.size(); j++)
      if (axes[j].strides[0]) flat += (flat.empty() ? "" : " + ") + fmt::format("i{} * {}", j, axes[j].strides[0]);
    s += fmt::format("{}const int64_t i = {};\n", indent, flat.empty() ? "0" : flat);
  }
  for (const std::string& line : lines) s += wrapped(indent, line);
  for (size_t j = axes.size(); j-- > 0;) {
    indent.resize(indent.size() - 2);
    s += indent + "}\n";
  }
  if (split) s += "  });\n";
  return s;
}

} // namespace

std::string emit_kernel_function(const Program& p, const Kernel& k, const Placement& at, const std::string& fn_name) {
  return KernelWriter(p, k, at).function(fn_name);
}

} // namespace dlc::codegen::cpp
