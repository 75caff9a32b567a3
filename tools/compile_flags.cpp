#include "tools/compile_flags.h"

#include "frontend/model.h"
#include "ir/error.h"

#include <nlohmann/json.hpp>

namespace dlc::tools {

std::vector<FlagSpec> training_flags();

std::vector<FlagSpec> compile_flags() {
  std::vector<FlagSpec> flags = {
      {"--train", "", "compile the training graph (forward, loss, backward, update)"},
      {"--batch", "N", "batch size (default 1; with --train the model's batch_size)"},
      {"--passes", "LIST", "comma-separated pass pipeline (default canonicalize,fold,cse,dce,fuse,schedule,memplan)"},
      {"--print-after", "PASS", "print the program after PASS to stderr (repeatable, or a comma list)"},
      {"--print-after-all", "", "print the program after every pass to stderr"},
      {"--time-passes", "", "print each pass's time to stderr"},
      {"--verify-each", "", "run the verifier of each stage after every pass (on in debug builds)"},
  };
  for (const FlagSpec& f : training_flags()) flags.push_back(f);
  return flags;
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

std::vector<FlagSpec> training_flags() {
  return {
      {"--training", "FILE.json",
       "the loss, optimizer, batch_size, epochs and metrics to use instead of the model file's (a JSON object of those "
       "members; for an imported ONNX or Keras model)"},
      {"--loss", "NAME", "the loss to train with instead of the model file's (with --optimizer and --metrics)"},
      {"--optimizer", "NAME", "with --loss: the optimizer, with its default hyper-parameters (default sgd; --lr sets the rate)"},
      {"--metrics", "LIST", "with --loss: comma-separated metrics (accuracy, mae, ...)"},
      {"--from-logits", "", "with --loss: the output is logits (a PyTorch model's last Linear); the loss applies softmax"},
  };
}

frontend::Model load_model_arg(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  if (a.has("--training") && a.has("--loss"))
    throw Error("--training and --loss: give the training sections in one place (the file, or the options)");
  if (!a.has("--loss") && (a.has("--optimizer") || a.has("--metrics") || a.has("--from-logits")))
    throw Error("--optimizer, --metrics and --from-logits come with --loss (or put them in a --training file)");
  if (a.has("--training")) return frontend::with_training(std::move(m), frontend::load_json_file(a.get("--training")));
  if (!a.has("--loss")) return m;
  // The options as the JSON object a --training file would hold (nlohmann escapes them).
  nlohmann::ordered_json t = {{"loss", a.get("--loss")}};
  if (a.has("--from-logits")) t["loss"] = {{"type", a.get("--loss")}, {"from_logits", true}};
  if (a.has("--optimizer")) t["optimizer"] = a.get("--optimizer");
  if (a.has("--metrics")) t["metrics"] = split_commas(a.get("--metrics"));
  if (m.training.batch_size > 0) t["batch_size"] = m.training.batch_size;
  if (m.training.epochs > 0) t["epochs"] = m.training.epochs;
  return frontend::with_training(std::move(m), frontend::parse_json_text(t.dump(-1, ' ', false,
                                                                                 nlohmann::ordered_json::error_handler_t::replace),
                                                                          "--loss/--optimizer/--metrics"));
}

passes::Program compile_model(const Args& a, bool graph_passes_only) {
  frontend::Model m = load_model_arg(a);
  pipeline::Options o = pipeline_options(a);
  if (graph_passes_only)
    while (!o.passes.empty() && passes::is_kernel_pass(o.passes.back())) o.passes.pop_back();
  return pipeline::compile(m, program_kind(a), batch_flag(a, m), o);
}

} // namespace dlc::tools
