// dlc predict: runs a model on NPY input with the reference interpreter.
#include "frontend/files.h"
#include "frontend/model.h"
#include "frontend/weights.h"
#include "ir/interp/interpreter.h"
#include "runtime/npy.h"
#include "tools/commands.h"

#include <cstdio>

namespace dlc::tools {

namespace {

// Prints a tensor as nested lists, one sample per line group.
void print_tensor(const std::string& name, const ir::Tensor& t) {
  std::printf("%s: %s\n", name.c_str(), t.type.str().c_str());
  const ir::Shape& s = t.shape();
  int64_t row = s.rank() ? s[s.rank() - 1] : 1;
  auto strides = ir::strides_of(s);
  for (int64_t i = 0; i < t.numel(); i += row) {
    std::string prefix, line;
    for (int d = 0; d + 1 < s.rank(); d++)
      prefix += fmt::format("{}{}", d ? "," : "[", (i / strides[size_t(d)]) % s[d]);
    if (!prefix.empty()) prefix += "] ";
    for (int64_t j = 0; j < row; j++) line += fmt::format("{}{:.6g}", j ? " " : "", t[i + j]);
    std::printf("  %s%s\n", prefix.c_str(), line.c_str());
  }
}

int run_predict(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  auto inputs_given = a.repeated.count("--input") ? a.repeated.at("--input") : std::vector<std::string>{};
  if (inputs_given.empty()) throw Error("dlc predict: --input X.npy is required");
  // --input PATH for a single-input model, or --input NAME=PATH per input.
  std::map<std::string, ir::Tensor> inputs;
  for (auto& spec : inputs_given) {
    std::string name = m.inputs[0].name, path = spec;
    size_t eq = spec.find('=');
    if (eq != std::string::npos && m.inputs.size() > 1) {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    }
    const frontend::InputSpec* in = nullptr;
    for (auto& i : m.inputs)
      if (i.name == name) in = &i;
    if (!in) throw Error(fmt::format("--input: the model has no input '{}'", name));
    inputs[name] = frontend::input_from_npy(path, *in);
  }
  int64_t batch = -1;
  for (auto& in : m.inputs) {
    auto it = inputs.find(in.name);
    if (it == inputs.end())
      throw Error(fmt::format("--input: no data for model input '{}' (use --input {}=FILE.npy)", in.name, in.name));
    int64_t n = it->second.shape()[0];
    if (batch >= 0 && n != batch)
      throw Error(fmt::format("--input: inputs have different batch sizes ({} and {})", batch, n));
    batch = n;
  }
  frontend::BuiltModel bm = frontend::build_model(m, batch);
  ir::Bindings b;
  if (a.has("--weights")) {
    b = frontend::load_weights(a.get("--weights"), bm.graph);
  } else {
    uint64_t seed = uint64_t(a.get_int("--seed", 0, 0, INT64_MAX));
    b = ir::init_params(bm.graph, seed);
    std::fprintf(stderr, "note: no --weights given; parameters are initialised from seed %llu\n",
                 (unsigned long long)seed);
  }
  for (auto& [k, v] : inputs) b[k] = v;
  std::string backend = a.get("--backend", "ref");
  if (backend != "ref") throw Error(fmt::format("--backend: unknown backend '{}'; available: ref", backend));
  auto outs = ir::run_outputs(bm.graph, b);
  if (a.has("-o")) {
    std::string path = a.get("-o");
    for (auto& [name, t] : outs) {
      std::string p = path;
      if (outs.size() > 1) {
        size_t dot = path.rfind(".npy");
        p = (dot == std::string::npos ? path : path.substr(0, dot)) + "." + name + ".npy";
      }
      frontend::write_file_atomic(p, dlc_rt::npy_bytes(dlc_rt::Array{t.shape().dims, t.to_float(), "f32"}));
      std::fprintf(stderr, "wrote %s (%s)\n", p.c_str(), t.type.str().c_str());
    }
    return 0;
  }
  for (auto& [name, t] : outs) print_tensor(name, t);
  return 0;
}

} // namespace

std::vector<Command> run_commands() {
  return {
      {"predict", "dlc predict MODEL.json --input X.npy [--weights W.safetensors] [-o Y.npy]",
       "Run the model on NPY input with the reference interpreter; print or save the outputs.",
       {{"--input", "[NAME=]X.npy", "input array [n, ...sample]; NAME= for each input of a graph model"},
        {"--weights", "W.safetensors", "parameter values (default: initialise from --seed)"},
        {"--seed", "S", "seed for initial parameters when no --weights are given (default 0)"},
        {"--backend", "ref", "the backend: ref (the reference interpreter)"},
        {"-o", "Y.npy", "write the output to an NPY file instead of printing it"}},
       1, run_predict},
  };
}

} // namespace dlc::tools
