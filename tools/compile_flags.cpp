#include "tools/compile_flags.h"

#include "frontend/model.h"

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

pipeline::Options pipeline_options(const Args& a) {
  pipeline::Options o;
  passes::PassOptions& opts = o.pass_options;
  opts.verify_each = opts.verify_each || a.has("--verify-each");
  opts.print_after_all = a.has("--print-after-all");
  opts.time_passes = a.has("--time-passes");
  if (a.repeated.count("--print-after"))
    for (const std::string& v : a.repeated.at("--print-after"))
      for (const std::string& name : split_commas(v)) opts.print_after.push_back(name);
  if (a.has("--passes")) o.passes = passes::parse_pipeline(a.get("--passes"));
  return o;
}

passes::ProgramKind program_kind(const Args& a) {
  return a.has("--train") ? passes::ProgramKind::training : passes::ProgramKind::inference;
}

int64_t batch_flag(const Args& a, const frontend::Model& m) {
  return a.get_int("--batch", a.has("--train") ? m.training.batch_size : 1, 1, 1 << 20);
}

passes::Program compile_model(const Args& a, bool graph_passes_only) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  pipeline::Options o = pipeline_options(a);
  if (graph_passes_only)
    while (!o.passes.empty() && passes::is_kernel_pass(o.passes.back())) o.passes.pop_back();
  return pipeline::compile(m, program_kind(a), batch_flag(a, m), o);
}

} // namespace dlc::tools
