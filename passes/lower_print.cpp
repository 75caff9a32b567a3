// The listing of a lowered program: its buffers, named values and every kernel's steps.
#include "passes/lower.h"

#include <fmt/format.h>

namespace dlc::passes {

namespace {

std::string extent_str(Extent e) {
  if (!e.batched) return std::to_string(e.per);
  return e.per == 1 ? "n" : fmt::format("{}*n", e.per);
}

// A buffer by name, with its place once planned.
std::string ref_str(const Program& p, const Ref& r) {
  const Buffer& b = p.buffers.at(size_t(r.buffer));
  std::string s = "%" + b.name;
  if (r.offset) s += fmt::format("+{}", r.offset);
  if (r.dtype != ir::DType::f32) s += std::string(":") + ir::dtype_name(r.dtype);
  if (p.planned) s += fmt::format(" ({}+{})", region_name(b.region), b.offset + r.offset);
  return s;
}

std::string index_str(const Index& idx) {
  if (idx.scalar()) return "0";
  if (idx.identity()) return "i";
  std::string s;
  for (const IndexTerm& t : idx.terms) {
    std::string term = t.div == 1 ? "i" : fmt::format("i/{}", t.div);
    if (t.mod) term = fmt::format("({})%{}", term, t.mod);
    if (t.mul != 1) term = fmt::format("({})*{}", term, t.mul);
    s += (s.empty() ? "" : " + ") + term;
  }
  return s;
}

std::string arg_str(const Program& p, const Arg& a) {
  std::string v;
  switch (a.kind) {
  case ArgKind::pointer: v = ref_str(p, a.ref); break;
  case ArgKind::null: v = "null"; break;
  case ArgKind::integer: v = a.symbol.empty() ? extent_str(a.integer) : a.symbol; break;
  case ArgKind::real: v = fmt::format("{}", a.real); break;
  case ArgKind::run_value: v = a.run == RunValue::seed ? "seed" : a.run == RunValue::step ? "step" : "training"; break;
  }
  return a.name + "=" + v;
}

std::string loop_str(const Program& p, const Loop& l, const std::string& in) {
  std::string s = fmt::format("{}loop i < {}{}\n", in, extent_str(l.trip), l.grain ? fmt::format(" (split by {})", l.grain) : "");
  for (size_t i = 0; i < l.operands.size(); i++) {
    const Operand& o = l.operands[i];
    std::string t = o.step_stride ? fmt::format(" + t*{}", o.step_stride) : "";
    s += fmt::format("{}  p{} = {} [{}{}]\n", in, i, ref_str(p, o.ref), index_str(o.index), t);
  }
  for (size_t i = 0; i < l.body.size(); i++) {
    const ScalarExpr& e = l.body[i];
    std::string rhs;
    if (e.kind == ScalarExpr::read) rhs = fmt::format("read p{}", e.operand);
    else if (e.kind == ScalarExpr::project) rhs = fmt::format("v{}#{}", e.args[0], e.result);
    else {
      std::string args;
      for (int a : e.args) args += (args.empty() ? "v" : ", v") + std::to_string(a);
      std::string attrs = e.attrs.str();
      rhs = fmt::format("{}({}){}", e.op_name, args, attrs.empty() ? "" : " " + attrs);
    }
    s += fmt::format("{}  v{} = {}\n", in, i, rhs);
  }
  for (const LoopStore& st : l.stores) s += fmt::format("{}  p{} <- v{}\n", in, st.operand, st.expr);
  return s;
}

std::string steps_str(const Program& p, const std::vector<Step>& steps, const std::string& in) {
  std::string s;
  for (const Step& st : steps) {
    if (st.kind == StepKind::loop) {
      s += loop_str(p, st.loop, in);
    } else if (st.kind == StepKind::repeat) {
      const Repeat& r = st.repeat;
      s += fmt::format("{}repeat {}: t = {} ({} steps)\n", in, r.name, r.reverse ? "T-1 .. 0" : "0 .. T-1", r.trip);
      s += steps_str(p, r.steps, in + "  ");
    } else {
      std::string args;
      for (const Arg& a : st.call.args) args += (args.empty() ? "" : ", ") + arg_str(p, a);
      s += fmt::format("{}call {}({})\n", in, st.call.fn, args);
    }
  }
  return s;
}

} // namespace

std::string print_lowered(const Program& p) {
  std::string s = fmt::format("lowered: batch {} (a run passes n <= {})\n", p.batch, p.batch);
  for (const NamedValue& v : p.interface)
    s += fmt::format("  {} {}{}: {} in {}\n", v.output ? "output" : ir::value_kind_name(v.kind), v.name,
                     v.batched ? " (batched)" : "", v.type.str(), ref_str(p, v.ref));
  for (const Buffer& b : p.buffers)
    if (b.kind != BufferKind::value)
      s += fmt::format("  {} %{}: {} ({} bytes)\n", b.kind == BufferKind::temporary ? "temporary" : "workspace", b.name,
                       b.type.str(), b.bytes);
  for (const Kernel& k : p.kernels) {
    s += fmt::format("\nkernel {} ({}){}\n", k.name, k.c_name, k.prepare ? ", prepare: runs when the weights change" : "");
    s += steps_str(p, k.steps, "  ");
  }
  return s;
}

} // namespace dlc::passes
