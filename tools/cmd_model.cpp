// dlc check, dlc summary, dlc show: validating and inspecting a model.
#include "frontend/model.h"
#include "frontend/summary.h"
#include "ir/printer.h"
#include "tools/commands.h"
#include "tools/format.h"

#include <cstdio>

namespace dlc::tools {

namespace {

int run_check(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  frontend::BuiltModel bm = frontend::build_model(m, 1);
  std::string in_shapes, out_shapes;
  for (ir::ValueId v : bm.graph.inputs()) in_shapes += (in_shapes.empty() ? "" : ", ") + bm.graph.type(v).str();
  for (auto& o : bm.graph.outputs()) out_shapes += (out_shapes.empty() ? "" : ", ") + bm.graph.type(o.value).str();
  std::printf("%s: ok: model '%s', %zu layers, %s parameters, %s -> %s%s\n", a.positional[0].c_str(),
              m.name.c_str(), bm.layers.size(), with_commas(bm.graph.param_count()).c_str(),
              in_shapes.c_str(), out_shapes.c_str(),
              m.training.has_loss ? fmt::format(", loss {}, optimizer {}", m.training.loss.type,
                                                m.training.optimizer.type).c_str()
                                  : "");
  return 0;
}

std::string shape_cell(const ir::Shape& s) {
  std::string out = "(";
  for (int i = 0; i < s.rank(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

int run_summary(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  int64_t batch = a.get_int("--batch", 1, 1, 1 << 20);
  frontend::ModelSummary s = frontend::summarize(frontend::build_model(m, batch));
  std::string rule(86, '=');
  std::printf("Model: \"%s\" (batch %lld)\n%s\n", s.name.c_str(), (long long)batch, rule.c_str());
  std::printf("%-30s %-22s %14s %16s\n", "Layer (type)", "Output shape", "Params", "Activations");
  std::printf("%s\n", std::string(86, '-').c_str());
  for (auto& r : s.rows) {
    std::string label = r.name + " (" + r.type + (r.activation.empty() || r.type == "activation" ? "" : ", " + r.activation) + ")";
    std::printf("%-30s %-22s %14s %16s\n", label.c_str(), shape_cell(r.output).c_str(),
                with_commas(r.params).c_str(), human_bytes(r.activation_bytes).c_str());
  }
  std::printf("%s\n", rule.c_str());
  std::printf("Total params: %s (%s)\n", with_commas(s.total_params).c_str(), human_bytes(s.param_bytes).c_str());
  std::printf("Trainable params: %s\n", with_commas(s.trainable_params).c_str());
  std::printf("Non-trainable params: %s\n", with_commas(s.total_params - s.trainable_params).c_str());
  std::printf("Activation memory: %s per sample, %s at batch %lld\n",
              human_bytes(s.activation_bytes / batch).c_str(), human_bytes(s.activation_bytes).c_str(),
              (long long)batch);
  std::printf("Parameter memory: %s\n", human_bytes(s.param_bytes).c_str());
  return 0;
}

const std::vector<std::string> kStages = {"graph"};

int run_show(const Args& a) {
  std::string emit = a.get("--emit", "graph");
  bool known = false;
  for (auto& s : kStages) known |= s == emit;
  if (!known)
    throw Error(fmt::format("--emit: unknown stage '{}'; stages: {}", emit, join_names(kStages)));
  frontend::Model m = frontend::load_model(a.positional[0]);
  int64_t batch = a.get_int("--batch", 1, 1, 1 << 20);
  frontend::BuiltModel bm = frontend::build_model(m, batch);
  std::fputs(ir::print_graph(bm.graph).c_str(), stdout);
  return 0;
}

} // namespace

std::vector<Command> model_commands() {
  return {
      {"check", "dlc check MODEL.json", "Validate a model file and print a one-line summary.", {}, 1, run_check},
      {"summary", "dlc summary MODEL.json [--batch N]",
       "Print each layer's output shape, parameters and activation memory, then the totals.",
       {{"--batch", "N", "batch size for shapes and activation memory (default 1)"}}, 1, run_summary},
      {"show", "dlc show MODEL.json [--emit=STAGE] [--batch N]",
       "Print the model at a stage of the compiler: graph (the IR after the frontend).",
       {{"--emit", "STAGE", "the stage to print: graph (default)"},
        {"--batch", "N", "batch size (default 1)"}},
       1, run_show},
  };
}

} // namespace dlc::tools
