// dlc compile: a model as standalone C++ (codegen/cpp/emit.h): OUT.cpp, OUT.h and
// dlc_runtime.h, written together or not at all.
#include "codegen/cpp/emit.h"
#include "frontend/files.h"
#include "pipeline/pipeline.h"
#include "frontend/model.h"
#include "frontend/weights.h"
#include "tools/commands.h"
#include "tools/compile_flags.h"

#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace dlc::tools {

namespace {

namespace fs = std::filesystem;

struct OutputFiles {
  fs::path source, header, runtime;
};

OutputFiles output_files(const std::string& out) {
  fs::path src(out);
  if (src.filename().empty() || out.back() == '/')
    throw Error(fmt::format("-o: '{}' names a directory; give the file to write, e.g. {}net.cpp", out, out));
  fs::path header = src;
  header.replace_extension(".h");
  if (header == src) throw Error(fmt::format("-o: '{}' would be overwritten by its own header; use a .cpp name", out));
  return {src, header, src.parent_path() / codegen::kRuntimeHeaderFile};
}

// Writes every file to a temporary name first and renames them only when all were
// written, so that a failure leaves none of them behind.
void write_all(const std::vector<std::pair<fs::path, std::string>>& files) {
  std::string suffix = ".dlc-tmp." + std::to_string(getpid());
  std::vector<std::string> written;
  auto remove_written = [&] {
    for (const std::string& t : written) std::remove(t.c_str());
  };
  for (auto& [path, text] : files) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      remove_written();
      throw Error(fmt::format("{}: cannot write file: it is a directory", path.string()));
    }
    std::string tmp = path.string() + suffix;
    try {
      frontend::write_file_atomic(tmp, text);
    } catch (const Error& e) {
      remove_written();
      std::string msg = e.what(); // name the file the user asked for, not the temporary
      if (size_t at = msg.find(tmp); at != std::string::npos) msg.replace(at, tmp.size(), path.string());
      throw Error(msg);
    }
    written.push_back(tmp);
  }
  for (auto& [path, text] : files) {
    std::error_code ec;
    fs::rename(path.string() + suffix, path, ec);
    if (ec) {
      remove_written();
      throw Error(fmt::format("{}: cannot write file: {}", path.string(), ec.message()));
    }
  }
}

// The symbol prefix: --name, else the output's stem when it is a C identifier.
std::string symbol_prefix(const Args& a, const fs::path& source) {
  if (a.has("--name")) {
    codegen::check_symbol_prefix(a.get("--name"));
    return a.get("--name");
  }
  std::string stem = source.stem().string();
  try {
    codegen::check_symbol_prefix(stem);
  } catch (const Error&) {
    throw Error(fmt::format("-o: '{}' is not a C identifier; give the symbol prefix with --name", stem));
  }
  return stem;
}

int run_compile(const Args& a) {
  const std::string& model_path = a.positional[0];
  if (!a.has("-o")) throw Error("missing -o OUT.cpp: the file to write");
  OutputFiles out = output_files(a.get("-o"));
  frontend::Model m = load_model_arg(a);
  codegen::CppOptions o;
  o.name = symbol_prefix(a, out.source);
  o.header_file = out.header.filename().string();
  o.source_file = out.source.filename().string();
  o.train = a.has("--train");
  o.extern_weights = a.has("--extern-weights");
  o.emit_main = a.has("--emit-main");
  o.input_grad = a.has("--input-grad");
  if (o.input_grad && !o.train)
    throw Error("dlc compile: --input-grad needs --train (the gradient program shares the training program's parameters)");
  o.batch = a.get_int("--batch", m.training.batch_size, 1, 1 << 20);
  o.source = model_path;
  if (o.train && !m.training.has_loss)
    throw Error(fmt::format("{}: --train needs a model with a loss (and optimizer) to train", model_path));
  // The emitted trainer follows the schedule but not reduce_on_plateau: that needs the
  // monitored (validation) value at each epoch's end, which its API never sees.
  if (o.train && m.training.optimizer.plateau.enabled)
    std::fprintf(stderr, "warning: %s: the emitted training code does not apply reduce_on_plateau (it needs the "
                         "monitored value, which the emitted API does not see); lower the rate with %s_set_lr\n",
                 m.training.optimizer.plateau.location.c_str(), o.name.c_str());
  ir::Bindings weights;
  if (a.has("--weights")) weights = frontend::load_weights(a.get("--weights"), frontend::build_model(m, 1).graph);
  else if (m.weights) weights = *m.weights; // an ONNX file's own
  codegen::CppFiles f;
  try {
    f = pipeline::emit_cpp(m, a.has("--weights") || m.weights ? &weights : nullptr, o);
  } catch (const Error& e) {
    throw Error(model_path + ": " + e.what());
  }
  write_all({{out.source, f.source}, {out.header, f.header}, {out.runtime, f.runtime}});
  std::printf("wrote %s, %s, %s (model '%s', batch %lld, %s%s)\n", out.source.string().c_str(),
              out.header.string().c_str(), out.runtime.string().c_str(), m.name.c_str(), (long long)o.batch,
              o.input_grad ? "inference, training and input gradient" : o.train ? "inference and training" : "inference",
              a.has("--weights") && !o.extern_weights ? ", weights embedded" : "");
  return 0;
}

} // namespace

std::vector<Command> compile_commands() {
  std::vector<Command> cmds = {{"compile",
           "dlc compile MODEL.json -o OUT.cpp [--weights W.safetensors] [--train] [--batch N] [--name PREFIX] "
           "[--extern-weights] [--emit-main] [--input-grad]",
           "Emit standalone C++ for a model: OUT.cpp, OUT.h and dlc_runtime.h, which build with any C++17 compiler "
           "and nothing else (docs/codegen.md).",
           {{"-o", "OUT.cpp", "the source to write; the header (OUT.h) and dlc_runtime.h go beside it"},
            {"--weights", "W.safetensors", "parameter values to embed (default: initializers, seed 0, at create)"},
            {"--train", "", "also emit train_step, the optimizer state and checkpoint save/load"},
            {"--batch", "N", "the largest batch a call may pass (default: the model's batch_size)"},
            {"--name", "PREFIX", "C symbol prefix (default: OUT's file name): PREFIX_infer, PREFIX_ctx..."},
            {"--extern-weights", "", "keep the weights out of the source; load them with PREFIX_load at run time"},
            {"--emit-main", "", "add a main() that trains, evaluates and predicts on IDX or NPY files"},
            {"--input-grad", "", "with --train: add <name>_input_grad, the loss's gradient with respect to the inputs"}},
           1,
           run_compile}};
  for (const FlagSpec& f : training_flags()) cmds[0].flags.push_back(f);
  return cmds;
}

} // namespace dlc::tools
