// dlc train and dlc eval: options in, the training loop (tools/trainer.h) and the data
// feeding (tools/train_data.h) do the work.
#include "pipeline/runner.h"
#include "frontend/dataset.h"
#include "frontend/weights.h"
#include "ir/error.h"
#include "tools/checkpoint.h"
#include "tools/commands.h"
#include "tools/compile_flags.h"
#include "tools/kernel_threads.h"
#include "tools/progress.h"
#include "tools/train_data.h"
#include "tools/trainer.h"

#include <cmath>
#include <cstdio>

namespace dlc::tools {

namespace {

int64_t batch_option(const Args& a, const frontend::Model& m, int64_t dflt) {
  return a.get_int("--batch", dflt > 0 ? dflt : m.training.batch_size, 1, 1 << 20);
}

// --target input (autoencoders): the targets are the inputs.
bool input_targets(const Args& a) {
  if (!a.has("--target")) return false;
  if (a.get("--target") != "input")
    throw Error(fmt::format("--target: expected 'input' (the targets are the inputs, for an autoencoder), got '{}'",
                            a.get("--target")));
  return true;
}

int run_train(const Args& a) {
  frontend::Model m = load_model_arg(a);
  if (!a.has("--data")) throw Error("dlc train: --data SOURCE is required (fashion-mnist, a directory of IDX files, x.npy,y.npy or text:FILE)");
  TrainOptions o;
  o.model_path = a.positional[0];
  o.resume_dir = a.get("--resume");
  // A resumed run keeps the batch size, seed and planned epochs of its checkpoint.
  CheckpointInfo resumed;
  if (!o.resume_dir.empty()) resumed = peek_checkpoint(o.resume_dir);
  int64_t batch = batch_option(a, m, resumed.batch);
  o.epochs = a.get_int("--epochs", resumed.epochs > 0 ? resumed.epochs : m.training.epochs, 1, 1000000);
  o.seed = o.resume_dir.empty() ? uint64_t(a.get_int("--seed", 0, 0, INT64_MAX))
                                : uint64_t(a.get_int("--seed", int64_t(resumed.seed), 0, INT64_MAX));
  if (a.has("--lr")) {
    double lr = a.get_double("--lr", 0);
    if (!(lr > 0) || !std::isfinite(lr)) throw Error(fmt::format("--lr: expected a positive number, got {}", a.get("--lr")));
    m.training.optimizer.hyper["lr"] = lr;
  }
  o.early_stopping = int(a.get_int("--early-stopping", 0, 0, 1000000));
  o.checkpoint_dir = a.get("--checkpoint");
  o.weights_out = a.get("-o");
  o.plot_path = a.get("--plot");
  o.history_path = a.get("--history");
  o.verbose = a.has("-v");
  o.live = stdout_is_terminal();
  if (a.repeated.count("--weights") && a.repeated.at("--weights").size() > 1)
    throw Error("dlc train: --weights given twice; training starts from one weights file");
  if (a.has("--weights")) {
    // Transfer learning: start from given weights, by name; --weights-partial loads what
    // matches and initialises the rest from the seed (a new head on a pre-trained base).
    if (!o.resume_dir.empty())
      throw Error("dlc train: --weights and --resume: a resumed run takes its weights from the checkpoint");
    frontend::WeightsReport report;
    o.initial_values = frontend::load_weights(a.get("--weights"), frontend::build_model(m, 1).graph,
                                              a.has("--weights-partial"), &report);
    std::printf("weights %s: %s\n", a.get("--weights").c_str(), report.text().c_str());
  } else if (a.has("--weights-partial")) {
    throw Error("dlc train: --weights-partial needs --weights W.safetensors");
  } else if (m.weights && o.resume_dir.empty()) {
    o.initial_values = *m.weights; // fine-tuning an ONNX file: it starts from its own parameters
    std::printf("weights: the %zu parameters of %s\n", m.weights->size(), a.positional[0].c_str());
  }
  KernelThreads threads(a);
  frontend::DataSplits data =
      frontend::load_data(a.get("--data"), a.get_double("--val-split", 0), &m, input_targets(a));
  auto runner = pipeline::make_runner(a.get("--backend", pipeline::kDefaultBackend), m, batch);
  return train(*runner, m, data, o);
}

void print_confusion(const EvalResult& r) {
  if (r.classes > 30) {
    std::printf("(confusion matrix omitted: %lld classes)\n", (long long)r.classes);
    return;
  }
  int64_t most = 1;
  for (int64_t c : r.confusion) most = std::max(most, c);
  int w = int(std::to_string(most).size()) + 1;
  std::printf("confusion matrix (rows: true class, columns: predicted):\n%*s", 6, "");
  for (int64_t j = 0; j < r.classes; j++) std::printf("%*lld", w, (long long)j);
  std::printf("\n");
  for (int64_t i = 0; i < r.classes; i++) {
    std::printf("%5lld ", (long long)i);
    for (int64_t j = 0; j < r.classes; j++) std::printf("%*lld", w, (long long)r.confusion[size_t(i * r.classes + j)]);
    std::printf("\n");
  }
}

int run_eval(const Args& a) {
  frontend::Model m = load_model_arg(a);
  if (!a.has("--data")) throw Error("dlc eval: --data SOURCE is required");
  if (!m.training.has_loss) throw Error(fmt::format("model '{}' has no loss to evaluate", m.name));
  bool autoencoder = input_targets(a);
  frontend::DataSplits data = frontend::load_data(a.get("--data"), 0, &m, autoencoder);
  KernelThreads threads(a);
  // The test split when the source has one, the training set otherwise.
  const frontend::Dataset& d = data.test.n ? data.test : data.train;
  auto runner = pipeline::make_runner(a.get("--backend", pipeline::kDefaultBackend), m, batch_option(a, m, 0));
  runner->init(0);
  std::vector<std::string> weights = a.repeated.count("--weights") ? a.repeated.at("--weights") : std::vector<std::string>{};
  ir::Graph g = frontend::build_model(m, 1).graph;
  auto load = [&](const std::string& path) {
    frontend::WeightsReport report;
    runner->set_values(frontend::load_weights(path, g, false, &report));
    if (report.optimizer_state > 0) std::fprintf(stderr, "note: %s is a training checkpoint: %s\n", path.c_str(), report.text().c_str());
  };
  if (weights.empty() && m.weights) runner->set_values(*m.weights); // an ONNX file's own
  else if (weights.empty()) std::fprintf(stderr, "note: no --weights given; parameters are initialised from seed 0\n");
  if (weights.size() <= 1) {
    if (weights.size() == 1) load(weights[0]);
    std::vector<TargetFormat> f = target_formats(*runner, m, d);
    // (An autoencoder's outputs are pixels, not classes: no confusion matrix.)
    EvalResult r = evaluate_dataset(*runner, d, f, m.training.metrics, !autoencoder);
    std::printf("%s: %lld samples\n", d.name.c_str(), (long long)d.n);
    std::printf("loss %.4f%s\n", r.loss, r.metrics_line.empty() ? "" : (" " + r.metrics_line).c_str());
    if (!r.confusion.empty()) print_confusion(r);
    return 0;
  }
  // An ensemble: each member's loss and metrics, then the metrics of their mean outputs.
  std::vector<TargetFormat> f = target_formats(*runner, m, d);
  std::printf("%s: %lld samples, an ensemble of %zu members (their outputs averaged)\n", d.name.c_str(), (long long)d.n,
              weights.size());
  std::vector<float> mean, masks; // masks: padded steps, the same for every member
  for (const std::string& path : weights) {
    load(path);
    double loss = 0;
    std::vector<float> out = infer_dataset(*runner, d, f, &masks, &loss); // one pass: outputs, mask, loss
    EvalResult r = score_outputs(*runner, d, f, out, m.training.metrics, false, masks);
    std::printf("member %s: loss %.4f%s\n", path.c_str(), loss, r.metrics_line.empty() ? "" : (" " + r.metrics_line).c_str());
    if (mean.empty()) mean.assign(out.size(), 0.0f);
    for (size_t i = 0; i < out.size(); i++) mean[i] += out[i] / float(weights.size());
  }
  EvalResult e = score_outputs(*runner, d, f, mean, m.training.metrics, !autoencoder, masks);
  std::printf("ensemble:%s\n", e.metrics_line.empty() ? " (the model lists no metrics)" : (" " + e.metrics_line).c_str());
  if (!e.confusion.empty()) print_confusion(e);
  return 0;
}

} // namespace

std::vector<Command> train_commands() {
  std::vector<Command> cmds = {
      {"train", "dlc train MODEL.json --data SOURCE [options]",
       "Train a model on a data set; print progress and test metrics.",
       {{"--data", "SOURCE",
         "fashion-mnist, a directory of IDX files, x.npy,y.npy[,x_test.npy,y_test.npy], text:FILE, or "
         "NAME=FILE.npy[:TEST.npy],... per model input and trained output"},
        {"--epochs", "N", "total epochs (default: the model file's)"},
        {"--batch", "N", "batch size (default: the model file's)"},
        {"--seed", "S", "seed of initial parameters, shuffling and dropout (default 0)"},
        {"--threads", "N", kThreadsHelp},
        {"--lr", "X", "learning rate (overrides the model file's)"},
        {"--val-split", "F", "hold out the last fraction F of the training samples for validation"},
        {"--target", "input", "the targets are the inputs (an autoencoder); --data x.npy[,x_test.npy] or IDX images"},
        {"--early-stopping", "PATIENCE", "stop after PATIENCE epochs without a better validation loss; keep the best weights"},
        {"--checkpoint", "DIR", "write a checkpoint into DIR after every epoch and on Ctrl-C"},
        {"--resume", "DIR", "continue the run whose checkpoint is in DIR"},
        {"--weights", "W.safetensors", "start from these parameters (by name; a checkpoint's optimizer state is skipped)"},
        {"--weights-partial", "", "with --weights: load the parameters that match by name and shape, initialise the rest"},
        {"-o", "W.safetensors", "write the trained parameters"},
        {"--plot", "CURVES.svg", "write the loss and first metric's curves per epoch as SVG"},
        {"--history", "FILE", "write per-epoch loss, metrics, lr and time as CSV (JSON if FILE ends in .json)"},
        {"--backend", "jit|ref", "jit (LLVM, the default) or ref (the reference interpreter, slow)"},
        {"-v", "", "more detail (compile time)"}},
       1, run_train},
      {"eval", "dlc eval MODEL.json --data SOURCE [--weights W.safetensors]",
       "Loss, the model's metrics and (for classification) the confusion matrix on a data set's test split.",
       {{"--data", "SOURCE", "as for dlc train; its test split (or its training set when it has none)"},
        {"--weights", "W.safetensors",
         "parameter values (default: initialise from seed 0); repeated: an ensemble, each member's metrics and those "
         "of the averaged outputs"},
        {"--batch", "N", "samples per call (default: the model file's batch size)"},
        {"--target", "input", "the targets are the inputs (an autoencoder)"},
        {"--backend", "jit|ref", "jit (LLVM, the default) or ref (the reference interpreter)"},
        {"--threads", "N", kThreadsHelp}},
       1, run_eval},
  };
  for (Command& c : cmds)
    for (const FlagSpec& f : training_flags()) c.flags.push_back(f);
  return cmds;
}

} // namespace dlc::tools
