// --emit-main: a main() for the fully standalone case: train, evaluate or predict on IDX
// (gzip or not) or NPY files, with nothing but the three emitted files.
#include "codegen/cpp/emit_detail.h"

namespace dlc::codegen::cpp {

namespace {

const char* kHelpers = R"cc(
// ---- main (--emit-main) -----------------------------------------------------------

namespace {

// An IDX (.gz or not) or NPY file; model input as dlc reads it (8-bit images scaled to
// [0, 1]: dlc_rt::to_input_values), targets as they are.
dlc_rt::Array read_data(const std::string& path, bool model_input) {
  bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  dlc_rt::Array a = npy ? dlc_rt::read_npy(path) : dlc_rt::read_idx(path);
  if (model_input) dlc_rt::to_input_values(a, kInputs[0].is_i32 != 0);
  if (a.shape.empty()) throw dlc_rt::FormatError(path + ": a data file needs a sample axis");
  return a;
}

int64_t per_sample(const dlc_rt::Array& a) { return a.shape[0] > 0 ? a.numel() / a.shape[0] : 0; }

// The predicted class of one output row (one unit: a sigmoid's probability).
int64_t predicted_class(const float* out, int64_t classes) {
  if (classes == 1) return out[0] > 0.5f ? 1 : 0;
  int64_t best = 0;
  for (int64_t k = 1; k < classes; k++)
    if (out[k] > out[best]) best = k;
  return best;
}

struct Flags {
  std::vector<std::string> files;
  int epochs = 1;
  float lr = -1;
  unsigned long long seed = 0;
  std::string load, save;
};

Flags parse_flags(int argc, char** argv) {
  Flags f;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw dlc_rt::FormatError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--epochs") f.epochs = std::atoi(value().c_str());
    else if (a == "--lr") f.lr = float(std::atof(value().c_str()));
    else if (a == "--seed") f.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--load") f.load = value();
    else if (a == "--save") f.save = value();
    else if (a.rfind("--", 0) == 0) throw dlc_rt::FormatError("unknown flag " + a);
    else f.files.push_back(a);
  }
  return f;
}

// Accuracy of the first output against class ids.
double accuracy($P_ctx* c, const dlc_rt::Array& x, const dlc_rt::Array& labels) {
  const int64_t in = per_sample(x), out = kOutputs[0].sample, n = x.shape[0];
  std::vector<float> y(size_t($U_BATCH * $U_OUTPUT_SIZE));
  int64_t right = 0;
  for (int64_t b = 0; b < n; b += $U_BATCH) {
    int nb = int(std::min<int64_t>($U_BATCH, n - b));
    if ($P_infer(c, x.data.data() + b * in, y.data(), nb) != 0) throw dlc_rt::FormatError($P_error(c));
    for (int i = 0; i < nb; i++) right += predicted_class(y.data() + i * out, out) == int64_t(labels.data[size_t(b + i)]);
  }
  return n > 0 ? double(right) / double(n) : 0.0;
}
)cc";

const char* kTrain = R"cc(
// Targets as train_step takes them: as given, or class ids expanded to one-hot rows.
std::vector<float> training_targets(const dlc_rt::Array& y, int64_t n) {
  const int64_t size = kTargets[0].sample;
  if (per_sample(y) == size) return y.data;
  if (per_sample(y) != 1) throw dlc_rt::FormatError("targets have " + std::to_string(per_sample(y)) +
                                                    " values per sample, the model trains on " + std::to_string(size));
  std::vector<float> t(size_t(n * size), 0.0f);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = int64_t(y.data[size_t(i)]);
    if (k < 0 || k >= size) throw dlc_rt::FormatError("label " + std::to_string(k) + " of sample " + std::to_string(i) +
                                                      " is outside [0, " + std::to_string(size) + ")");
    t[size_t(i * size + k)] = 1.0f;
  }
  return t;
}

void train($P_ctx* c, const Flags& f) {
  dlc_rt::Array x = read_data(f.files[0], true), y = read_data(f.files[1], false);
  const int64_t n = x.shape[0], in = per_sample(x);
  if (y.shape[0] != n) throw dlc_rt::FormatError("the data has " + std::to_string(n) + " samples, the targets " + std::to_string(y.shape[0]));
  std::vector<float> t = training_targets(y, n);
  if (f.lr > 0) $P_set_lr(c, f.lr);
  for (int e = 1; e <= f.epochs; e++) {
    $P_set_epoch(c, e - 1); // the model's schedule counts epochs from 0
    double total = 0;
    int64_t batches = 0;
    for (int64_t b = 0; b < n; b += $U_BATCH, batches++) {
      int nb = int(std::min<int64_t>($U_BATCH, n - b));
      float loss = $P_train_step(c, x.data.data() + b * in, t.data() + b * kTargets[0].sample, nb);
      if (std::isnan(loss)) throw dlc_rt::FormatError(std::string("training step failed: ") + $P_error(c));
      total += loss;
    }
    std::printf("epoch %d/%d: loss %.6f", e, f.epochs, batches ? total / double(batches) : 0.0);
    if (f.files.size() >= 4) {
      dlc_rt::Array tx = read_data(f.files[2], true), ty = read_data(f.files[3], false);
      std::printf(", test accuracy %.4f", accuracy(c, tx, ty));
    }
    std::printf("\n");
  }
}
)cc";

const char* kMain = R"cc(
int usage() {
  std::fprintf(stderr,
               "usage: %s train X Y [TEST_X TEST_Y] [--epochs N] [--lr LR] [--seed S] [--load W] [--save W]\n"
               "       %s eval X LABELS [--load W]\n"
               "       %s predict X [--load W]\n"
               "X, Y: IDX (gzip or not) or .npy files; 8-bit images are scaled to [0, 1]; class ids\n"
               "become one-hot targets where the model trains on one-hot rows.\n",
               "$P", "$P", "$P");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string cmd = argv[1];
  $P_ctx* c = $P_create();
  if (!c) {
    std::fprintf(stderr, "$P: out of memory\n");
    return 1;
  }
  int status = 0;
  try {
    Flags f = parse_flags(argc, argv);
    $P_init(c, f.seed);
    if (!f.load.empty() && $P_load(c, f.load.c_str()) != 0) throw dlc_rt::FormatError($P_error(c));
    if (cmd == "train" && f.files.size() >= 2 && $TRAIN) {
      TRAIN_CALL;
    } else if (cmd == "eval" && f.files.size() == 2) {
      std::printf("accuracy %.4f\n", accuracy(c, read_data(f.files[0], true), read_data(f.files[1], false)));
    } else if (cmd == "predict" && f.files.size() == 1) {
      dlc_rt::Array x = read_data(f.files[0], true);
      std::vector<float> y(size_t($U_BATCH * $U_OUTPUT_SIZE));
      const int64_t in = per_sample(x), out = kOutputs[0].sample;
      for (int64_t b = 0; b < x.shape[0]; b += $U_BATCH) {
        int nb = int(std::min<int64_t>($U_BATCH, x.shape[0] - b));
        if ($P_infer(c, x.data.data() + b * in, y.data(), nb) != 0) throw dlc_rt::FormatError($P_error(c));
        for (int i = 0; i < nb; i++) std::printf("%lld\n", (long long)predicted_class(y.data() + i * out, out));
      }
    } else {
      status = usage();
    }
    if (status == 0 && !f.save.empty() && $P_save(c, f.save.c_str()) != 0) throw dlc_rt::FormatError($P_error(c));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "$P: %s\n", e.what());
    status = 1;
  }
  $P_destroy(c);
  return status;
}
)cc";

} // namespace

std::string emit_main_function(const Names& n, const Layout& l, const CppOptions& o) {
  // The main() reads one input file and one target file.
  size_t targets = 0;
  for (const Placed& p : l.train_inputs) targets += is_target_input(p.v.name);
  if (l.inputs.size() != 1 || (o.train && targets != 1))
    throw Error(fmt::format("--emit-main: the generated main() reads one input and one target file; this model has {} "
                            "inputs and {} losses (call {}_train_step_io and {}_infer_io from your own program)",
                            l.inputs.size(), o.train ? targets : 0, n.lower, n.lower));
  std::string s = std::string(kHelpers) + (o.train ? kTrain : "") + kMain;
  auto replace = [&](const std::string& key, const std::string& value) {
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  };
  replace("$TRAIN", o.train ? "true" : "false");
  replace("TRAIN_CALL", o.train ? "train(c, f)" : "(void)0");
  return with_names(s, n);
}

} // namespace dlc::codegen::cpp
