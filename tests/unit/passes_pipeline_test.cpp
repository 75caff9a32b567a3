// The pass manager: pipelines by name, errors for unknown passes and impossible orders,
// printing after passes, timing, and verification after each pass.
#include "passes/pass_manager.h"
#include "passes_test_helpers.h"

using namespace dlc;
using namespace dlc::passes;

namespace {

ir::Graph tiny() {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", testing::f32({2, 3}));
  ir::ValueId w = g.add_param("w", testing::f32({3, 4}), {});
  g.add_output("y", g.add("relu", {g.add("matmul", {x, w}, {}, "mm")}, {}, "act"));
  return g;
}

std::string error_of(const std::string& pipeline) {
  try {
    parse_pipeline(pipeline);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("pass manager: pipelines are named passes; missing stages are appended") {
  CHECK(parse_pipeline("cse,dce") == std::vector<std::string>{"cse", "dce", "fuse", "lower", "schedule", "memplan"});
  CHECK(parse_pipeline("dce,dce,fuse") == std::vector<std::string>{"dce", "dce", "fuse", "lower", "schedule", "memplan"});
  CHECK(parse_pipeline("fuse,lower,schedule,memplan").size() == 4);
  std::vector<std::string> names;
  for (auto& p : pass_list()) names.push_back(p.name);
  for (auto& n : default_pipeline()) CHECK(std::find(names.begin(), names.end(), n) != names.end());
}

TEST_CASE("pass manager: an unknown pass or an impossible order is an error") {
  CHECK(error_of("cse,dcee") == "unknown pass 'dcee', did you mean 'dce'?");
  CHECK(error_of("inline").find("unknown pass 'inline'; passes: canonicalize, fold") == 0);
  CHECK(error_of("cse,,dce") == "pass pipeline 'cse,,dce': empty pass name");
  CHECK(error_of("fuse,cse") == "pass pipeline 'fuse,cse': 'cse' cannot run after 'fuse'");
  CHECK(error_of("schedule") == "pass pipeline 'schedule': 'schedule' needs 'lower' before it");
  CHECK(error_of("fuse,fuse") == "pass pipeline 'fuse,fuse': 'fuse' cannot run after 'fuse'");
  PassOptions opts;
  opts.print_after = {"cse", "fuze"};
  CHECK_THROWS_WITH(run_pipeline(tiny(), default_pipeline(), opts), "unknown pass 'fuze', did you mean 'fuse'?");
}

TEST_CASE("pass manager: --print-after, --print-after-all and --time-passes write to the log") {
  std::string log;
  PassOptions opts;
  opts.verify_each = true;
  opts.log = [&](const std::string& s) { log += s; };
  opts.print_after = {"dce", "fuse"};
  opts.time_passes = true;
  Program p = run_pipeline(tiny(), default_pipeline(), opts);
  CHECK(log.find("// ----- after dce -----\ngraph model {") != std::string::npos);
  CHECK(log.find("// ----- after fuse -----\nkernels: 1 (from 2 ops)") != std::string::npos);
  CHECK(log.find("after cse") == std::string::npos);
  CHECK(log.find("// ----- pass timing -----") != std::string::npos);
  CHECK(log.find("  memplan") != std::string::npos);
  CHECK(p.planned);
  log.clear();
  opts = PassOptions{};
  opts.log = [&](const std::string& s) { log += s; };
  opts.print_after_all = true;
  run_pipeline(tiny(), default_pipeline(), opts);
  for (auto& n : default_pipeline()) CHECK(log.find("// ----- after " + n + " -----") != std::string::npos);
}

TEST_CASE("pass manager: with verification on, a broken input graph is rejected before any pass") {
  // A graph whose output refers to no value: the verifier rejects it before any pass.
  ir::Graph g = tiny();
  g.add_output("bad", 999);
  PassOptions opts;
  opts.verify_each = true;
  CHECK_THROWS_WITH(run_pipeline(g, {"cse"}, opts), "output 'bad': refers to no value");
}
