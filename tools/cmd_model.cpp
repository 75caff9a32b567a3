// dlc check, dlc summary, dlc show: validating and inspecting a model.
#include "codegen/jit_backend.h"
#include "frontend/files.h"
#include "frontend/json_reader.h"
#include "frontend/keras_json.h"
#include "frontend/model.h"
#include "frontend/onnx_import.h"
#include "frontend/weights.h"
#include "frontend/summary.h"
#include "ir/printer.h"
#include "passes/lower.h"
#include "pipeline/pipeline.h"
#include "tools/commands.h"
#include "tools/compile_flags.h"
#include "tools/format.h"
#include "tools/summary_table.h"

#include <algorithm>
#include <cstdio>

namespace dlc::tools {

namespace {

int run_check(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  frontend::BuiltModel bm = frontend::build_model(m, 1);
  std::string in_shapes, out_shapes;
  for (ir::ValueId v : bm.graph.inputs()) in_shapes += (in_shapes.empty() ? "" : ", ") + bm.graph.type(v).str();
  for (auto& o : bm.graph.outputs()) out_shapes += (out_shapes.empty() ? "" : ", ") + bm.graph.type(o.value).str();
  // One loss: "loss mse"; several: "loss digit: categorical_crossentropy, is_even: binary_crossentropy x0.5".
  std::string losses;
  for (const ir::LossSpec& l : m.training.losses)
    losses += (losses.empty() ? "" : ", ") +
              (m.training.losses.size() > 1 ? l.output + ": " : std::string()) + l.type +
              (l.weight != 1 ? fmt::format(" x{:g}", l.weight) : std::string());
  std::printf("%s: ok: model '%s', %zu layers, %s parameters, %s -> %s%s\n", a.positional[0].c_str(),
              m.name.c_str(), bm.layers.size(), with_commas(bm.graph.param_count()).c_str(),
              in_shapes.c_str(), out_shapes.c_str(),
              m.training.has_loss ? fmt::format(", loss {}, optimizer {}", losses,
                                                m.training.optimizer.type).c_str()
                                  : "");
  return 0;
}

int run_summary(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  int64_t batch = a.get_int("--batch", 1, 1, 1 << 20);
  std::fputs(summary_table(frontend::summarize(frontend::build_model(m, batch))).c_str(), stdout);
  return 0;
}

const std::vector<std::string> kStages = {"graph", "train-graph", "clean-graph", "kernels", "lowered", "schedule",
                                           "plan", "llvm", "llvm-opt", "cpp"};

// `dlc show` also prints the compiled stages and takes the pass manager's flags.
void add_compile_stages(Command& show) {
  show.usage = "dlc show MODEL.json [--emit=STAGE] [--batch N] [--train] [--passes=LIST] [--print-after=PASS]";
  show.summary += " After compilation (of the training graph with --train): clean-graph (after the clean-up "
                  "passes), kernels (fused), lowered (the calls and loops of every kernel, over buffers), schedule, "
                  "plan (the memory timeline), llvm (the JIT's LLVM module), llvm-opt (that module after LLVM's O3 "
                  "pipeline for this CPU), cpp (the header and source `dlc compile` writes, at the model's "
                  "batch_size unless --batch is given). Each stage stops the pipeline --passes names after its "
                  "pass.";
  for (FlagSpec& f : show.flags)
    if (f.name == "--emit") f.help = "the stage to print: " + join_names(kStages) + " (default graph)";
  for (const FlagSpec& f : compile_flags())
    if (f.name != "--batch") show.flags.push_back(f);
}

// The LLVM JIT's module (codegen/jit_backend.h): as built, or optimised for this CPU;
// --time-passes adds the JIT's optimisation and code-generation time.
void show_llvm(const Args& a, const passes::Program& p, bool optimized) {
  double ms = 0;
  std::string text = codegen::print_llvm_module(p, optimized, {}, a.has("--time-passes") ? &ms : nullptr);
  std::fputs(text.c_str(), stdout);
  if (a.has("--time-passes")) std::fprintf(stderr, "// ----- LLVM JIT -----\n  %-14s %10.3f ms\n", "O3 + codegen", ms);
}

// What `dlc compile` would write (codegen/cpp/emit.h): net.h, then net.cpp, from the
// programs the flags' pipeline plans.
int show_cpp(const Args& a) {
  frontend::Model m = load_model_arg(a);
  codegen::CppOptions o;
  o.train = a.has("--train");
  o.batch = a.get_int("--batch", m.training.batch_size, 1, 1 << 20);
  o.source = a.positional[0];
  codegen::CppFiles f = pipeline::emit_cpp(m, nullptr, o, pipeline_options(a));
  std::fputs((f.header + "\n" + f.source).c_str(), stdout);
  return 0;
}

// The pass a stage stops after: the program is printed as it is there.
const char* last_pass_of(const std::string& emit) {
  if (emit == "kernels") return "fuse";
  if (emit == "lowered") return "lower";
  if (emit == "schedule") return "schedule";
  return "memplan";
}

// The stages after the frontend: the graph after clean-up, the kernels, their steps, the
// schedule, the plan (passes/pass_manager.h), of the inference program or with --train
// the training program, each the pipeline the flags ask for stopped after its pass.
int show_compiled(const Args& a, const std::string& emit) {
  if (emit == "cpp") return show_cpp(a);
  frontend::Model m = load_model_arg(a);
  pipeline::Options o = pipeline_options(a);
  if (emit == "clean-graph") {
    while (!o.passes.empty() && passes::is_kernel_pass(o.passes.back())) o.passes.pop_back();
  } else {
    auto last = std::find(o.passes.begin(), o.passes.end(), last_pass_of(emit));
    if (last != o.passes.end()) o.passes.erase(last + 1, o.passes.end());
  }
  passes::Program p = pipeline::compile(m, program_kind(a), batch_flag(a, m), o);
  if (emit == "clean-graph") std::fputs(ir::print_graph(p.graph).c_str(), stdout);
  if (emit == "kernels") std::fputs(passes::print_kernels(p).c_str(), stdout);
  if (emit == "lowered") std::fputs(passes::print_lowered(p).c_str(), stdout);
  if (emit == "schedule") std::fputs(passes::print_schedule(p).c_str(), stdout);
  if (emit == "plan") std::fputs(passes::print_plan(p).c_str(), stdout);
  if (emit == "llvm" || emit == "llvm-opt") show_llvm(a, p, emit == "llvm-opt");
  return 0;
}

int run_show(const Args& a) {
  std::string emit = a.get("--emit", "graph");
  bool known = false;
  for (auto& s : kStages) known |= s == emit;
  if (!known)
    throw Error(fmt::format("--emit: unknown stage '{}'; stages: {}", emit, join_names(kStages)));
  if (emit != "graph" && emit != "train-graph") return show_compiled(a, emit);
  frontend::Model m = load_model_arg(a);
  int64_t batch = a.get_int("--batch", 1, 1, 1 << 20);
  passes::ProgramKind kind = emit == "train-graph" ? passes::ProgramKind::training : passes::ProgramKind::inference;
  std::fputs(ir::print_graph(pipeline::program_graph(m, kind, batch)).c_str(), stdout);
  return 0;
}

// dlc import of an ONNX file: the model JSON, its parameters (--weights-out) and how the
// layouts of its inputs and outputs map onto dlc's.
int import_onnx(const Args& a) {
  const std::string& path = a.positional[0];
  frontend::OnnxModel o = frontend::onnx_to_dlc(frontend::read_file(path), path);
  frontend::Model m = frontend::model_of_onnx(o, path); // every check any command makes
  if (a.has("--weights-out"))
    frontend::save_weights(a.get("--weights-out"), frontend::build_model(m, 1).graph, *m.weights);
  frontend::write_file_atomic(a.get("-o"), o.json + "\n");
  std::printf("wrote %s (%zu layers from ONNX %s)%s\n", a.get("-o").c_str(), frontend::build_model(m, 1).layers.size(),
              path.c_str(), a.has("--weights-out") ? (" and " + a.get("--weights-out")).c_str() : "");
  for (const std::string& l : o.layout) std::printf("  %s\n", l.c_str());
  if (!a.has("--weights-out"))
    std::printf("its parameters stay in %s: write them with --weights-out W.safetensors to use the JSON alone\n", path.c_str());
  return 0;
}

// dlc export: the model (and its weights) as an ONNX file.
int run_export(const Args& a) {
  const std::string& path = a.positional[0];
  if (!a.has("-o")) throw Error("dlc export: -o OUT.onnx is required");
  frontend::Model m = frontend::load_model(path);
  ir::Graph g = frontend::build_model(m, 1).graph;
  ir::Bindings w;
  if (a.has("--weights")) {
    w = frontend::load_weights(a.get("--weights"), g);
  } else {
    w = frontend::initial_values(m, g, 0);
    if (!m.weights) std::fprintf(stderr, "note: no --weights given; parameters are initialised from seed 0\n");
  }
  frontend::write_file_atomic(a.get("-o"), frontend::dlc_to_onnx(m, w));
  std::printf("wrote %s (ONNX opset 13; inputs and outputs in dlc's layout, NHWC)\n", a.get("-o").c_str());
  return 0;
}

// dlc import: a model from another framework's format as dlc's model JSON, to read, edit
// (a loss and optimizer for training) and keep: ONNX, or Keras's model JSON.
int run_import(const Args& a) {
  const std::string& path = a.positional[0];
  if (!a.has("-o")) throw Error("dlc import: -o OUT.json is required");
  if (frontend::is_onnx_path(path)) return import_onnx(a);
  if (a.has("--weights-out"))
    throw Error("dlc import: --weights-out: a Keras model JSON holds no weights (its .h5 file does)");
  // dlc's reader first (its limits hold for any file), then the same checks as every
  // command that reads a Keras file (frontend::load_model).
  frontend::JsonRef root = frontend::root_of(frontend::load_json_file(path));
  if (!root.is(frontend::json::Kind::Object) || !root.has("class_name") || !root.has("config") || root.has("layers"))
    throw Error(fmt::format("{}: not a Keras model JSON (model.to_json(): \"class_name\" and \"config\" at the top)", path));
  frontend::load_model(path);
  frontend::KerasModel k = frontend::keras_to_dlc(frontend::read_file(path), path);
  frontend::write_file_atomic(a.get("-o"), k.json + "\n");
  std::printf("wrote %s (from Keras's model JSON %s); add a \"loss\" and an \"optimizer\" to train it\n",
              a.get("-o").c_str(), path.c_str());
  return 0;
}

} // namespace

std::vector<Command> model_commands() {
  std::vector<Command> cmds = {
      {"check", "dlc check MODEL.json", "Validate a model file and print a one-line summary.", {}, 1, run_check},
      {"summary", "dlc summary MODEL.json [--batch N]",
       "Print each layer's output shape, parameters and activation memory, then the totals.",
       {{"--batch", "N", "batch size for shapes and activation memory (default 1)"}}, 1, run_summary},
      {"show", "dlc show MODEL.json [--emit=STAGE] [--batch N]",
       "Print the model at a stage of the compiler: graph (the IR after the frontend), train-graph "
       "(forward, loss, backward and optimizer update).",
       {{"--emit", "STAGE", "the stage to print: graph (default), train-graph"},
        {"--batch", "N", "batch size (default 1)"}},
       1, run_show},
      {"export", "dlc export MODEL -o OUT.onnx [--weights W.safetensors]",
       "Write the model and its parameters as an ONNX file (opset 13) that `dlc import` and other runtimes read; "
       "its inputs and outputs keep dlc's NHWC layout.",
       {{"-o", "OUT.onnx", "the ONNX file to write"},
        {"--weights", "W.safetensors", "parameter values (default: the model file's own, else initialised from seed 0)"}},
       1, run_export},
      {"import", "dlc import MODEL.onnx|KERAS.json -o MODEL.json [--weights-out W.safetensors]",
       "Write an ONNX model (opsets 11-17, e.g. from torch.onnx.export; NCHW mapped onto NHWC) or a Keras model JSON "
       "(model.to_json(), Keras 2.x) as dlc's model format.",
       {{"-o", "MODEL.json", "the dlc model file to write"},
        {"--weights-out", "W.safetensors", "ONNX: also write its parameters, in dlc's layout and names"}},
       1, run_import},
  };
  for (Command& c : cmds)
    if (c.name == "show") add_compile_stages(c);
  return cmds;
}

} // namespace dlc::tools
