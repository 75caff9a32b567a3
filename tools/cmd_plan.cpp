// dlc plan: compiles a model and reports its memory plan.
#include "passes/program.h"
#include "tools/commands.h"
#include "tools/compile_flags.h"

#include <cstdio>

namespace dlc::tools {

namespace {

int run_plan(const Args& a) {
  passes::Program p = compile_model(a);
  std::string emit = a.get("--emit", "summary");
  if (emit != "summary" && emit != "plan")
    throw Error(fmt::format("--emit: unknown output '{}'; outputs: summary, plan", emit));
  std::fputs((emit == "plan" ? passes::print_plan(p) : passes::plan_summary(p, 10)).c_str(), stdout);
  return 0;
}

} // namespace

std::vector<Command> plan_commands() {
  std::vector<FlagSpec> flags = compile_flags();
  flags.push_back({"--emit", "WHAT", "summary (default): regions, arena vs lower bound, largest buffers; "
                                     "plan: the timeline of every buffer"});
  return {{"plan", "dlc plan MODEL.json [--train] [--batch N] [--emit=plan] [--passes=LIST]",
           "Compile a model and print its memory plan: regions, arena against its lower bound, largest buffers.",
           flags, 1, run_plan}};
}

} // namespace dlc::tools
