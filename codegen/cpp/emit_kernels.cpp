// Kernels as C++ functions: a call per runtime step, a plain counted loop per element-wise
// step (one statement per scalar expression; a long loop split into blocks across the
// context's threads by dlc_rt::parallel_range), every pointer a region base plus its
// planned offset. The loops are written so that compilers vectorise them: an int64_t
// induction variable, stride-1 or loop-invariant index arithmetic, no function pointers.
#include "codegen/cpp/emit_detail.h"

#include "ir/error.h"

namespace dlc::codegen::cpp {

namespace {

// The Mem region (0 constants, 1 state, 2 arena) of a block.
int region_of(Block b) { return b == Block::state ? 1 : b == Block::arena ? 2 : 0; }

std::string pointer(const Ref& r, const Placement& at) {
  const char* fn = r.dtype == ir::DType::f32 ? "F" : r.dtype == ir::DType::i32 ? "I32" : nullptr;
  if (!fn) throw Error(fmt::format("C++ backend: no pointer type for {}", ir::dtype_name(r.dtype)));
  Where w = at(r);
  return fmt::format("{}(m, {}, {})", fn, region_of(w.block), w.offset);
}

std::string extent(Extent e) {
  if (!e.batched) return std::to_string(e.per);
  return e.per == 1 ? "m.n" : fmt::format("{} * m.n", e.per);
}

std::string argument(const Arg& a, const Placement& at) {
  switch (a.kind) {
  case ArgKind::pointer: return pointer(a.ref, at);
  case ArgKind::null: return "nullptr";
  case ArgKind::integer: return extent(a.integer);
  case ArgKind::real: return float_literal(a.real);
  case ArgKind::run_value:
    return a.run == RunValue::seed ? "m.seed" : a.run == RunValue::step ? "m.step" : "m.training";
  }
  return "?";
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

std::string emit_call(const Call& c, const Placement& at) {
  std::string s = "  " + c.fn + "(";
  for (size_t i = 0; i < c.args.size(); i++) {
    s += (i ? ", " : "") + argument(c.args[i], at);
    if (c.args[i].kind == ArgKind::pointer || c.args[i].kind == ArgKind::null) continue;
    s += " /*" + comment_text(c.args[i].name) + "*/";
  }
  return s + ");\n";
}

std::string emit_loop(const Loop& l, const Placement& at) {
  std::vector<bool> written(l.operands.size(), false);
  for (const LoopStore& st : l.stores) written[size_t(st.operand)] = true;
  std::string s = "  {\n";
  for (size_t i = 0; i < l.operands.size(); i++) {
    const Operand& o = l.operands[i];
    if (o.ref.dtype != ir::DType::f32)
      throw Error(fmt::format("C++ backend: element-wise operand %{} is not f32", o.name));
    s += fmt::format("    {}float* p{} = {}; // %{}\n", written[i] ? "" : "const ", i, pointer(o.ref, at), comment_text(o.name));
  }
  // Scalars the loop only reads (a learning rate, Adam's bias corrections) are read once,
  // before it: inside, a store through another pointer could alias them for all the
  // compiler knows, so it would reload them at every element. In a split loop this
  // happens in each block (a lambda's by-reference captures are loads through its closure).
  std::string before;
  for (size_t i = 0; i < l.operands.size(); i++)
    if (!written[i] && l.operands[i].index.scalar()) before += fmt::format("    const float s{0} = p{0}[0];\n", i);
  std::vector<std::string> lines;
  for (size_t e = 0; e < l.body.size(); e++) {
    const ScalarExpr& x = l.body[e];
    std::string var = fmt::format("v{}", e);
    if (x.kind == ScalarExpr::read) {
      const Operand& o = l.operands[size_t(x.operand)];
      bool scalar = !written[size_t(x.operand)] && o.index.scalar();
      lines.push_back(scalar ? fmt::format("[[maybe_unused]] const float {} = s{};", var, x.operand)
                             : fmt::format("const float {} = p{}[{}];", var, x.operand, index_expr(o.index)));
    } else if (x.kind == ScalarExpr::project) {
      lines.push_back(fmt::format("const float {} = v{}_s{};", var, x.args[0], x.result));
    } else {
      std::vector<std::string> args;
      for (int a : x.args) args.push_back(fmt::format("v{}", a));
      emit_scalar_op(x, var, args, lines);
    }
  }
  for (const LoopStore& st : l.stores)
    lines.push_back(fmt::format("p{}[{}] = v{};", st.operand, index_expr(l.operands[size_t(st.operand)].index), st.expr));
  s += fmt::format("    const int64_t count = {};\n", extent(l.trip));
  // A long loop runs in blocks across the context's threads (lowering.h: Loop::grain).
  std::string close = "    }\n  }\n";
  if (l.grain > 0) {
    s += fmt::format("    dlc_rt::parallel_range(count, {}, [&](int64_t begin, int64_t end) {{\n", l.grain);
    s += before + "    for (int64_t i = begin; i < end; i++) {\n";
    close = "    }\n    });\n  }\n";
  } else {
    s += before + "    for (int64_t i = 0; i < count; i++) {\n";
  }
  for (const std::string& line : lines) s += "      " + line + "\n";
  return s + close;
}

} // namespace

std::string emit_kernel_function(const Kernel& k, const Placement& at, const std::string& prefix) {
  std::string s = fmt::format("// {}\nstatic void {}{}(const Mem& m) {{\n", comment_text(k.name), prefix, k.c_name);
  for (const Step& st : k.steps) s += st.kind == StepKind::call ? emit_call(st.call, at) : emit_loop(st.loop, at);
  if (k.steps.empty()) s += "  (void)m;\n";
  return s + "}\n";
}

} // namespace dlc::codegen::cpp
