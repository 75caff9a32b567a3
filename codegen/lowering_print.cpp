// The listing of a lowered program: regions, named values, and every kernel's steps.
#include "codegen/lowering.h"

#include <fmt/format.h>

namespace dlc::codegen {

namespace {

std::string extent_str(Extent e) {
  if (!e.batched) return std::to_string(e.per);
  return e.per == 1 ? "n" : fmt::format("{}*n", e.per);
}

std::string ref_str(const Ref& r) {
  return fmt::format("{}+{}{}", passes::region_name(r.region), r.offset,
                     r.dtype == ir::DType::f32 ? "" : std::string(":") + ir::dtype_name(r.dtype));
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

std::string arg_str(const Arg& a) {
  std::string v;
  switch (a.kind) {
  case ArgKind::pointer: v = ref_str(a.ref); break;
  case ArgKind::null: v = "null"; break;
  case ArgKind::integer: v = extent_str(a.integer); break;
  case ArgKind::real: v = fmt::format("{}", a.real); break;
  case ArgKind::run_value: v = a.run == RunValue::seed ? "seed" : a.run == RunValue::step ? "step" : "training"; break;
  }
  return a.name + "=" + v;
}

std::string loop_str(const Loop& l) {
  std::string s = fmt::format("  loop i < {}\n", extent_str(l.trip));
  for (size_t i = 0; i < l.operands.size(); i++)
    s += fmt::format("    p{} = {} [{}]  %{}\n", i, ref_str(l.operands[i].ref), index_str(l.operands[i].index),
                     l.operands[i].name);
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
    s += fmt::format("    v{} = {}\n", i, rhs);
  }
  for (const LoopStore& st : l.stores) s += fmt::format("    p{} <- v{}\n", st.operand, st.expr);
  return s;
}

} // namespace

std::string print_lowered(const Lowered& l) {
  std::string s = fmt::format("lowered: batch {} (n <= {}), regions: constants {} B, state {} B, arena {} B "
                              "(planned {} B{})\n",
                              l.batch, l.batch, l.region_size[0], l.region_size[1], l.region_size[2], l.planned_arena,
                              l.workspace_offset ? fmt::format(", workspace at {}", l.workspace_offset) : "");
  for (const NamedValue& v : l.values)
    s += fmt::format("  {} {} {}: {} at {}{}\n", v.output ? "output" : ir::value_kind_name(v.kind), v.name,
                     v.batched ? "(batched)" : "", v.type.str(), ref_str(v.ref), "");
  for (const LoweredKernel& k : l.kernels) {
    s += fmt::format("\nkernel {}\n", k.name);
    for (const Step& st : k.steps) {
      if (st.kind == StepKind::loop) {
        s += loop_str(st.loop);
        continue;
      }
      std::string args;
      for (const Arg& a : st.call.args) args += (args.empty() ? "" : ", ") + arg_str(a);
      s += fmt::format("  call {}({})\n", st.call.fn, args);
    }
  }
  return s;
}

} // namespace dlc::codegen
