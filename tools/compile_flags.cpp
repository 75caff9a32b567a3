#include "tools/compile_flags.h"

#include "frontend/model.h"
#include "passes/training.h"

namespace dlc::tools {

std::vector<FlagSpec> compile_flags() {
  return {
      {"--train", "", "compile the training graph (forward, loss, backward, update)"},
      {"--batch", "N", "batch size (default 1; with --train the model's batch_size)"},
      {"--passes", "LIST", "comma-separated pass pipeline (default canonicalize,fold,cse,dce,fuse,schedule,memplan)"},
      {"--print-after", "PASS", "print the program after PASS to stderr (repeatable, or a comma list)"},
      {"--print-after-all", "", "print the program after every pass to stderr"},
      {"--time-passes", "", "print each pass's time to stderr"},
      {"--verify-each", "", "run the verifier of each stage after every pass (on in debug builds)"},
  };
}

static std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t c; (c = s.find(',', at)) != std::string::npos; at = c + 1) out.push_back(s.substr(at, c - at));
  out.push_back(s.substr(at));
  return out;
}

passes::Program compile_model(const Args& a, bool graph_passes_only) {
  const std::string& path = a.positional[0];
  frontend::Model m = frontend::load_model(path);
  bool train = a.has("--train");
  int64_t batch = a.get_int("--batch", train ? m.training.batch_size : 1, 1, 1 << 20);
  ir::Graph g = frontend::build_model(m, batch).graph;
  if (train) {
    try {
      g = passes::build_training_graph(g, m.training).graph;
    } catch (const Error& e) {
      throw Error(path + ": " + e.what()); // the model cannot train: say which file
    }
  }
  passes::PassOptions opts;
  opts.verify_each = opts.verify_each || a.has("--verify-each");
  opts.print_after_all = a.has("--print-after-all");
  opts.time_passes = a.has("--time-passes");
  if (a.repeated.count("--print-after"))
    for (const std::string& v : a.repeated.at("--print-after"))
      for (const std::string& name : split_commas(v)) opts.print_after.push_back(name);
  std::vector<std::string> pipeline =
      a.has("--passes") ? passes::parse_pipeline(a.get("--passes")) : passes::default_pipeline();
  if (graph_passes_only)
    while (!pipeline.empty() && (pipeline.back() == "fuse" || pipeline.back() == "schedule" || pipeline.back() == "memplan"))
      pipeline.pop_back();
  return passes::run_pipeline(std::move(g), pipeline, opts);
}

} // namespace dlc::tools
