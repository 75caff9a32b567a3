// dlc predict: runs a model on NPY input, with the reference interpreter graph by graph,
// or through a Runner (the JIT for more than a few samples, --backend, --top-k) in batches.
// Input values are converted as dlc train and eval convert theirs (frontend::input_from_npy).
#include "pipeline/runner.h"
#include "frontend/dataset.h"
#include "frontend/files.h"
#include "frontend/model.h"
#include "frontend/weights.h"
#include "ir/interp/interpreter.h"
#include "runtime/npy.h"
#include "tools/commands.h"
#include "tools/train_data.h"
#include "tools/kernel_threads.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

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

void write_npy(const std::string& path, const ir::Tensor& t) {
  frontend::write_file_atomic(path, dlc_rt::npy_bytes(dlc_rt::Array{t.shape().dims, t.to_float(), "f32"}));
  std::fprintf(stderr, "wrote %s (%s)\n", path.c_str(), t.type.str().c_str());
}

// The K most likely classes of each sample, best first: "sample 0: 3 (0.912) 1 (0.041)".
void print_top_k(const ir::Tensor& out, int64_t k) {
  int64_t n = out.shape()[0], classes = out.numel() / n;
  k = std::min(k, classes);
  std::vector<int64_t> idx(static_cast<size_t>(classes));
  for (int64_t i = 0; i < n; i++) {
    const double* row = out.data.data() + i * classes;
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) { return row[x] > row[y]; });
    std::string line = fmt::format("sample {}:", i);
    for (int64_t j = 0; j < k; j++) line += fmt::format(" {} ({:.4g})", idx[size_t(j)], row[idx[size_t(j)]]);
    std::printf("%s\n", line.c_str());
  }
}

// Through a Runner: a single-input model's first reported output (the output its first
// loss reads, or its first output), in batches of --batch samples.
int predict_with_runner(const Args& a, const frontend::Model& m, const ir::Tensor& x, const std::string& backend) {
  int64_t n = x.shape()[0];
  int64_t batch = a.get_int("--batch", std::min<int64_t>(n, 256), 1, 1 << 20);
  KernelThreads threads(a);
  auto r = pipeline::make_runner(backend, m, batch);
  ir::Graph g = frontend::build_model(m, 1).graph;
  r->init(uint64_t(a.get_int("--seed", 0, 0, INT64_MAX)));
  if (m.weights && !a.has("--weights")) r->set_values(*m.weights); // an ONNX file's own
  // The runner writes every reported output (one block each); this prints the first.
  ir::TensorType ot = r->output_types()[0];
  int64_t per_out = pipeline::per_sample(ot);
  std::vector<float> in = x.to_float(), out(size_t(n * per_out), 0.0f), one(size_t(n * per_out));
  // Several --weights: an ensemble, whose output is the mean of its members'.
  std::vector<std::string> weights = a.repeated.count("--weights") ? a.repeated.at("--weights") : std::vector<std::string>{""};
  if (weights.size() > 1 && r->stateful())
    throw Error("--weights: an ensemble of a model with stateful layers would carry each member's states into the next");
  for (const std::string& path : weights) {
    if (!path.empty()) r->set_values(frontend::load_weights(path, g));
    infer_first_output(*r, in.data(), n, one.data());
    for (size_t i = 0; i < out.size(); i++) out[i] += one[i] / float(weights.size());
  }
  if (a.has("-v"))
    std::fprintf(stderr, "note: %lld samples through backend %s in batches of %lld (compile time %.0f ms)\n",
                 (long long)n, r->backend().c_str(), (long long)batch, r->compile_ms());
  std::vector<int64_t> dims = ot.shape.dims;
  dims[0] = n;
  ir::Tensor t(ir::TensorType{ot.dtype, ir::Shape(dims)}, out);
  std::string name = r->output_names()[0];
  if (a.has("-o")) write_npy(a.get("-o"), t);
  else if (a.has("--top-k")) print_top_k(t, a.get_int("--top-k", 5, 1, 1 << 20));
  else print_tensor(name, t);
  return 0;
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
    // Token ids are checked here: the compiled kernels would read a bad id as a zero row.
    if (int64_t vocab = frontend::token_vocabulary(frontend::build_model(m, 1).graph, name); vocab > 0) {
      const ir::Tensor& t = inputs[name];
      frontend::check_token_ids(path, t.data, t.type.shape.numel() / std::max<int64_t>(t.type.shape[0], 1), vocab);
    }
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
  std::string backend = a.get("--backend", pipeline::predict_backend(m, batch));
  bool ensemble = a.repeated.count("--weights") && a.repeated.at("--weights").size() > 1;
  if (a.has("--top-k") || backend != "ref" || a.has("--batch") || ensemble) {
    if (m.inputs.size() != 1)
      throw Error(fmt::format("--backend/--top-k/--batch/several --weights: model '{}' has {} inputs; they drive "
                              "single-input models",
                              m.name, m.inputs.size()));
    if (!a.has("--weights") && !m.weights)
      std::fprintf(stderr, "note: no --weights given; parameters are initialised from seed %lld\n",
                   (long long)a.get_int("--seed", 0, 0, INT64_MAX));
    return predict_with_runner(a, m, inputs.begin()->second, backend);
  }
  frontend::BuiltModel bm = frontend::build_model(m, batch);
  ir::Bindings b;
  if (a.has("--weights")) {
    b = frontend::load_weights(a.get("--weights"), bm.graph);
  } else if (m.weights) {
    b = *m.weights;
  } else {
    uint64_t seed = uint64_t(a.get_int("--seed", 0, 0, INT64_MAX));
    b = ir::init_params(bm.graph, seed);
    std::fprintf(stderr, "note: no --weights given; parameters are initialised from seed %llu\n",
                 (unsigned long long)seed);
  }
  for (auto& [k, v] : inputs) b[k] = v;
  auto outs = ir::run_outputs(bm.graph, b);
  if (a.has("-v")) std::fprintf(stderr, "note: %lld samples through backend ref\n", (long long)batch);
  if (a.has("-o")) {
    std::string path = a.get("-o");
    for (auto& [name, t] : outs) {
      std::string p = path;
      if (outs.size() > 1) {
        size_t dot = path.rfind(".npy");
        p = (dot == std::string::npos ? path : path.substr(0, dot)) + "." + name + ".npy";
      }
      write_npy(p, t);
    }
    return 0;
  }
  for (auto& [name, t] : outs) print_tensor(name, t);
  return 0;
}

} // namespace

std::vector<Command> run_commands() {
  return {
      {"predict", "dlc predict MODEL.json --input X.npy [--weights W.safetensors] [--top-k K] [-o Y.npy]",
       "Run the model on NPY input; print or save the outputs, or the top-k classes.",
       {{"--input", "[NAME=]X.npy", "input array [n, ...sample]; NAME= for each input of a graph model"},
        {"--weights", "W.safetensors",
         "parameter values (default: initialise from --seed); repeated: an ensemble, the mean of the members' outputs"},
        {"--seed", "S", "seed for initial parameters when no --weights are given (default 0)"},
        {"--backend", "jit|ref",
         fmt::format("jit (LLVM; the default for more than {} samples of a model with one input and one output) "
                     "or ref (the reference interpreter; the default otherwise)",
                     pipeline::kPredictFewSamples)},
        {"--batch", "N", "samples per call through the backend (default: all, at most 256)"},
        {"--threads", "N", kThreadsHelp},
        {"--top-k", "K", "print the K most likely classes of each sample with their scores"},
        {"-o", "Y.npy", "write the output to an NPY file instead of printing it"},
        {"-v", "", "say on stderr which backend ran and how many samples"}},
       1, run_predict},
  };
}

} // namespace dlc::tools
