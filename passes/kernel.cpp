#include "passes/kernel.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlc::passes {

const char* kernel_kind_name(KernelKind k) {
  switch (k) {
  case KernelKind::elementwise: return "elementwise";
  case KernelKind::matmul: return "matmul";
  case KernelKind::conv: return "conv";
  case KernelKind::pool: return "pool";
  case KernelKind::reduction: return "reduction";
  case KernelKind::softmax_xent: return "softmax_xent";
  case KernelKind::loss: return "loss";
  case KernelKind::data: return "data";
  case KernelKind::update: return "update";
  case KernelKind::loop: return "loop";
  case KernelKind::other: return "other";
  }
  return "?";
}

bool is_body_op(const std::string& op) {
  const ir::OpDef* def = ir::find_op(op);
  return def && def->is_body();
}

static std::string expr_str(const ir::Graph& g, const Kernel& k, const Expr& e) {
  switch (e.kind) {
  case Expr::load:
    if (e.index == LoadIndex::slice)
      return fmt::format("load in{} (slice axis={} begin={} size={})", e.input, e.attrs.get_int("axis"),
                         e.attrs.get_int("begin"), e.attrs.get_int("size"));
    return fmt::format("load in{}{}", e.input, e.index == LoadIndex::broadcast ? " (broadcast)" : "");
  case Expr::anchor: return fmt::format("anchor %{}", g.value(e.value).name);
  case Expr::project: return fmt::format("e{}#{}", e.args[0], e.result);
  case Expr::op: {
    std::vector<std::string> args;
    for (int a : e.args) args.push_back(fmt::format("e{}", a));
    std::string attrs = e.attrs.str();
    return fmt::format("{}({}){}", e.op_name, fmt::join(args, ", "), attrs.empty() ? "" : " " + attrs);
  }
  }
  (void)k;
  return "?";
}

std::string print_kernel(const ir::Graph& g, const Kernel& k) {
  std::string out = fmt::format("kernel {} ({}) over {}\n", k.name, kernel_kind_name(k.kind), k.space.str());
  std::vector<std::string> ops;
  for (int n : k.nodes) ops.push_back(fmt::format("{} %{}", g.node(n).op->name, g.value(g.node(n).results[0]).name));
  if (!ops.empty()) out += fmt::format("  ops ({}): {}\n", ops.size(), fmt::join(ops, ", "));
  for (size_t i = 0; i < k.inputs.size(); i++)
    out += fmt::format("  in{} %{}: {}\n", i, g.value(k.inputs[i]).name, g.type(k.inputs[i]).str());
  for (size_t i = 0; i < k.outputs.size(); i++)
    out += fmt::format("  out{} %{}: {}\n", i, g.value(k.outputs[i]).name, g.type(k.outputs[i]).str());
  for (int a : k.anchors) {
    const ir::Node& n = g.node(a);
    std::vector<std::string> ops;
    for (ir::ValueId o : n.operands) ops.push_back("%" + g.value(o).name);
    std::string attrs = n.attrs.str();
    out += fmt::format("  anchor %{} = {}({}){}\n", g.value(n.results[0]).name, n.op->name,
                       fmt::join(ops, ", "), attrs.empty() ? "" : " " + attrs);
  }
  for (size_t i = 0; i < k.body.size(); i++)
    out += fmt::format("  e{} = {}\n", i, expr_str(g, k, k.body[i]));
  for (const Store& s : k.stores) out += fmt::format("  store out{} <- e{}\n", s.output, s.expr);
  for (auto [o, i] : k.in_place) out += fmt::format("  in-place out{} may reuse in{}\n", o, i);
  return out;
}

} // namespace dlc::passes
