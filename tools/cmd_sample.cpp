// dlc sample: generates text with a trained character-level model (examples/char_rnn.json).
// The vocabulary is rebuilt from the training text (--data text:FILE), so ids mean the
// same characters as in training. Each step runs the model on the last T characters and
// draws the next one from the output's distribution at the last position.
#include "pipeline/runner.h"
#include "frontend/dataset.h"
#include "frontend/weights.h"
#include "ir/error.h"
#include "runtime/rng.h"
#include "tools/commands.h"
#include "tools/kernel_threads.h"

#include <cmath>
#include <cstdio>

namespace dlc::tools {

namespace {

// Probabilities over the first `vocab` of an output row's `classes` entries: the row
// itself when it is a distribution (a softmax output: non-negative, summing to 1), else
// its softmax; sharpened or flattened by the temperature, and normalised. Classes beyond
// the vocabulary were never a target, so only the vocabulary's compete.
std::vector<double> distribution(const float* row, int64_t classes, int64_t vocab, double temperature) {
  double sum = 0, hi = row[0];
  bool probs = true;
  for (int64_t c = 0; c < classes; c++) {
    probs = probs && row[c] >= 0;
    sum += row[c];
  }
  probs = probs && std::fabs(sum - 1) < 1e-3;
  for (int64_t c = 0; c < vocab; c++) hi = std::max(hi, double(row[c]));
  std::vector<double> logp(static_cast<size_t>(vocab));
  for (int64_t c = 0; c < vocab; c++)
    logp[size_t(c)] = probs ? std::log(std::max(double(row[c]), 1e-30)) : double(row[c]) - hi;
  double top = *std::max_element(logp.begin(), logp.end()), total = 0;
  std::vector<double> p(static_cast<size_t>(vocab));
  for (int64_t c = 0; c < vocab; c++) total += p[size_t(c)] = std::exp((logp[size_t(c)] - top) / temperature);
  for (double& v : p) v /= total;
  return p;
}

int64_t draw(const std::vector<double>& p, double u) {
  double acc = 0;
  for (size_t c = 0; c < p.size(); c++)
    if (u < (acc += p[c])) return int64_t(c);
  return int64_t(p.size()) - 1; // rounding left u above the last partial sum
}

int64_t argmax(const float* row, int64_t classes) { return int64_t(std::max_element(row, row + classes) - row); }

int run_sample(const Args& a) {
  frontend::Model m = frontend::load_model(a.positional[0]);
  std::string data = a.get("--data");
  if (data.rfind("text:", 0) != 0) throw Error("dlc sample: --data text:FILE is required (the text the model was trained on)");
  if (!a.has("--weights")) throw Error("dlc sample: --weights W.safetensors is required (from dlc train -o)");
  if (!a.has("--seed-text")) throw Error("dlc sample: --seed-text TEXT is required (the text generation starts from)");
  int64_t length = a.get_int("--length", 200, 0, 1000000);
  double temperature = a.get_double("--temperature", 1.0);
  if (!(temperature >= 0) || !std::isfinite(temperature))
    throw Error(fmt::format("--temperature: expected a number >= 0, got {}", a.get("--temperature")));
  uint64_t seed = uint64_t(a.get_int("--seed", 0, 0, INT64_MAX));

  frontend::TextModelShape shape = frontend::text_model_shape(m, "dlc sample " + a.positional[0]);
  int64_t win = shape.window, classes = shape.classes;
  bool per_position = shape.per_position;
  frontend::TextCorpus text = frontend::load_text(data.substr(5), classes);

  std::string seed_text = a.get("--seed-text");
  if (seed_text.empty()) throw Error("--seed-text: expected at least one character");
  std::vector<float> ids;
  for (size_t i = 0; i < seed_text.size(); i++) {
    int64_t id = text.id_of((unsigned char)seed_text[i]);
    if (id < 0)
      throw Error(fmt::format("--seed-text: character '{}' at position {} does not occur in {} (the vocabulary)",
                              seed_text.substr(i, 1), i, text.path));
    ids.push_back(float(id));
  }

  KernelThreads threads(a);
  auto runner = pipeline::make_runner(a.get("--backend", pipeline::kDefaultBackend), m, 1);
  runner->init(0);
  runner->set_values(frontend::load_weights(a.get("--weights"), frontend::build_model(m, 1).graph));
  std::string result = seed_text;
  std::vector<float> x(static_cast<size_t>(win)), y(static_cast<size_t>(per_position ? win * classes : classes));
  for (int64_t step = 0; step < length; step++) {
    // The window: the last T ids. A shorter context sits at the start of the window and
    // is read at its last position (a recurrent layer's output there has seen only it);
    // a model with one output per window is fed the context left-padded with its first id.
    int64_t have = std::min<int64_t>(int64_t(ids.size()), win), from = int64_t(ids.size()) - have;
    int64_t at = per_position ? have - 1 : win - 1;
    for (int64_t i = 0; i < win; i++) {
      int64_t src = per_position ? (i < have ? from + i : from + have - 1) : std::max<int64_t>(from + i - (win - have), from);
      x[size_t(i)] = ids[size_t(src)];
    }
    runner->infer(x.data(), y.data(), 1);
    const float* row = y.data() + (per_position ? at * classes : 0);
    int64_t vocab = int64_t(text.vocabulary.size());
    int64_t next = temperature == 0 ? argmax(row, vocab)
                                    : draw(distribution(row, classes, vocab, temperature),
                                           dlc_rt::rng_uniform(seed, dlc_rt::name_hash("dlc.sample"), uint64_t(step)));
    ids.push_back(float(next));
    result.push_back(text.vocabulary[size_t(next)]);
  }
  std::fwrite(result.data(), 1, result.size(), stdout);
  std::printf("\n");
  return 0;
}

} // namespace

std::vector<Command> sample_commands() {
  return {{"sample", "dlc sample MODEL.json --weights W.safetensors --data text:FILE --seed-text TEXT [options]",
           "Generate text with a character-level model, one sampled character at a time.",
           {{"--weights", "W.safetensors", "the trained parameters (dlc train -o)"},
            {"--data", "text:FILE", "the text the model was trained on: its distinct bytes are the vocabulary"},
            {"--seed-text", "TEXT", "the text to continue; every character must occur in FILE"},
            {"--length", "N", "characters to generate after the seed (default 200)"},
            {"--temperature", "X", "divides the log-probabilities: < 1 sharper, > 1 flatter, 0 always the likeliest (default 1)"},
            {"--seed", "S", "seed of the draws (default 0)"},
            {"--backend", "jit|ref", "jit (LLVM, the default) or ref (the reference interpreter)"},
            {"--threads", "N", kThreadsHelp}},
           1, run_sample}};
}

} // namespace dlc::tools
