#include "passes/pass_manager.h"

#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/cleanup/cleanup.h"
#include "passes/fusion.h"
#include "passes/lower.h"
#include "passes/memplan.h"
#include "passes/plan_check.h"
#include "passes/schedule.h"

#include <chrono>
#include <cstdio>
#include <set>

namespace dlc::passes {

namespace {

enum class Stage { graph, kernels, lowered, schedule, plan };

struct PassDef {
  PassInfo info;
  Stage stage;
  std::function<void(Program&)> run;
};

std::function<void(Program&)> graph_pass(ir::Graph (*fn)(const ir::Graph&)) {
  return [fn](Program& p) { p.graph = fn(p.graph); };
}

const std::vector<PassDef>& passes() {
  static const std::vector<PassDef> defs = {
      {{"canonicalize", "algebraic simplification into one canonical form"}, Stage::graph, graph_pass(canonicalize)},
      {{"fold", "evaluate nodes whose operands are all constants"}, Stage::graph, graph_pass(fold_constants)},
      {{"cse", "compute identical nodes and constants once"}, Stage::graph,
       graph_pass(eliminate_common_subexpressions)},
      {{"dce", "remove nodes no output or update needs"}, Stage::graph, graph_pass(eliminate_dead_code)},
      {{"fuse", "group nodes into kernels"}, Stage::kernels, fuse},
      {{"lower", "spell each kernel out as calls and loops over buffers"}, Stage::lowered, lower},
      {{"schedule", "order kernels to keep live memory low"}, Stage::schedule, schedule},
      {{"memplan", "place every buffer in its region"}, Stage::plan, plan_memory},
  };
  return defs;
}

const PassDef& find(const std::string& name) {
  for (auto& d : passes())
    if (d.info.name == name) return d;
  std::vector<std::string> names;
  for (auto& d : passes()) names.push_back(d.info.name);
  std::string hint = did_you_mean(name, names);
  throw Error(fmt::format("unknown pass '{}'{}", name, hint.empty() ? "; passes: " + join_names(names) : hint));
}

std::string print_stage(const Program& p, Stage s) {
  switch (s) {
  case Stage::graph: return ir::print_graph(p.graph);
  case Stage::kernels: return print_kernels(p);
  case Stage::lowered: return print_lowered(p);
  case Stage::schedule: return print_schedule(p);
  case Stage::plan: return print_plan(p);
  }
  return "";
}

void verify_stage(const Program& p, Stage s) {
  switch (s) {
  case Stage::graph: return ir::verify(p.graph);
  case Stage::kernels: return verify_kernels(p);
  case Stage::lowered: return;
  case Stage::schedule: return verify_schedule(p);
  case Stage::plan: return verify_plan(p);
  }
}

} // namespace

const std::vector<PassInfo>& pass_list() {
  static const std::vector<PassInfo> list = [] {
    std::vector<PassInfo> l;
    for (auto& d : passes()) l.push_back(d.info);
    return l;
  }();
  return list;
}

std::vector<std::string> default_pipeline() {
  return {"canonicalize", "fold", "cse", "dce", "fuse", "lower", "schedule", "memplan"};
}

bool is_kernel_pass(const std::string& name) { return find(name).stage != Stage::graph; }

std::vector<std::string> parse_pipeline(const std::string& list) {
  std::vector<std::string> names;
  size_t at = 0;
  while (at <= list.size()) {
    size_t comma = list.find(',', at);
    std::string name = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (name.empty()) throw Error(fmt::format("pass pipeline '{}': empty pass name", list));
    find(name);
    names.push_back(name);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  const char* stages[] = {"fuse", "lower", "schedule", "memplan"};
  Stage reached = Stage::graph;
  for (const std::string& n : names) {
    Stage s = find(n).stage;
    if (s < reached || (s == reached && s != Stage::graph))
      throw Error(fmt::format("pass pipeline '{}': '{}' cannot run after '{}'", list, n,
                              stages[int(reached) - 1]));
    if (int(s) > int(reached) + 1)
      throw Error(fmt::format("pass pipeline '{}': '{}' needs '{}' before it", list, n, stages[int(s) - 2]));
    reached = s;
  }
  for (int s = int(reached); s < 4; s++) names.push_back(stages[s]);
  return names;
}

Program run_pipeline(ir::Graph g, const std::vector<std::string>& pipeline, const PassOptions& opts) {
  auto log = opts.log ? opts.log : [](const std::string& s) { std::fputs(s.c_str(), stderr); };
  std::set<std::string> print_after(opts.print_after.begin(), opts.print_after.end());
  for (const std::string& n : print_after) find(n);
  Program p;
  p.source_ops = int(g.nodes().size());
  p.prepare_weights = opts.prepare_weights;
  p.loop_body = opts.loop_body;
  p.inputs_batched = opts.inputs_batched;
  p.graph = std::move(g);
  if (opts.verify_each) ir::verify(p.graph);
  std::vector<std::pair<std::string, double>> times;
  for (const std::string& name : pipeline) {
    const PassDef& pass = find(name);
    auto t0 = std::chrono::steady_clock::now();
    pass.run(p);
    times.push_back({name, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()});
    if (opts.verify_each) {
      try {
        verify_stage(p, pass.stage);
      } catch (const Error& e) {
        throw Error(fmt::format("after pass '{}': {}", name, e.what()));
      }
    }
    if (opts.print_after_all || print_after.count(name))
      log(fmt::format("// ----- after {} -----\n{}", name, print_stage(p, pass.stage)));
  }
  if (opts.time_passes) {
    double total = 0;
    std::string out = "// ----- pass timing -----\n";
    for (auto& [n, ms] : times) out += fmt::format("  {:<14} {:10.3f} ms\n", n, ms), total += ms;
    log(out + fmt::format("  {:<14} {:10.3f} ms\n", "total", total));
  }
  return p;
}

Program compile(const ir::Graph& g) {
  PassOptions opts;
  opts.verify_each = true;
  return run_pipeline(g, default_pipeline(), opts);
}

} // namespace dlc::passes
