#include "frontend/dataset.h"

#include "frontend/files.h"
#include "ir/error.h"
#include "runtime/idx.h"
#include "runtime/npy.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

namespace dlc::frontend {

namespace fs = std::filesystem;

int64_t Dataset::Part::size() const {
  int64_t s = 1;
  for (auto d : shape) s *= d;
  return s;
}

std::vector<Dataset::Part> Dataset::inputs() const {
  if (!x_parts.empty()) return x_parts;
  return {Part{"", x_shape, false}};
}

std::vector<Dataset::Part> Dataset::targets() const {
  if (!y_parts.empty()) return y_parts;
  return {Part{"", y_shape, sequence_labels}};
}

int64_t Dataset::x_size() const {
  int64_t s = 1;
  for (auto d : x_shape) s *= d;
  return s;
}

int64_t Dataset::y_size() const {
  int64_t s = 1;
  for (auto d : y_shape) s *= d;
  return s;
}

Dataset Dataset::slice(int64_t begin, int64_t end, const std::string& nm) const {
  Dataset d;
  d.name = nm;
  d.n = end - begin;
  d.x_shape = x_shape;
  d.y_shape = y_shape;
  d.sequence_labels = sequence_labels;
  d.x_parts = x_parts;
  d.y_parts = y_parts;
  d.x.assign(x.begin() + begin * x_size(), x.begin() + end * x_size());
  d.y.assign(y.begin() + begin * y_size(), y.begin() + end * y_size());
  return d;
}

namespace {

// Reads an IDX or NPY file into an array.
dlc_rt::Array read_array(const std::string& path) {
  dlc_rt::Array a;
  try {
    std::string bytes = read_file(path);
    bool npy = bytes.size() >= 6 && bytes.compare(0, 6, "\x93NUMPY") == 0;
    a = npy ? dlc_rt::read_npy_bytes(bytes) : dlc_rt::read_idx_bytes(bytes);
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  if (a.shape.empty()) throw Error(fmt::format("{}: expected an array of samples, got a scalar", path));
  return a;
}

int64_t per_sample_of(const dlc_rt::Array& a) { return a.shape[0] > 0 ? a.numel() / a.shape[0] : 1; }

// How a targets array reads, for every NPY source: integer [n] or [n, 1] are class
// labels (shape empty), integer [n, T] a class label per position, anything else a target
// per sample of its own shape.
Dataset::Part target_part(const dlc_rt::Array& y) {
  Dataset::Part p;
  bool integer = y.dtype != "f32" && y.dtype != "f64" && y.dtype != "F32" && y.dtype != "F64";
  bool labels = integer && (y.shape.size() == 1 || (y.shape.size() == 2 && y.shape[1] == 1));
  if (!labels) p.shape.assign(y.shape.begin() + 1, y.shape.end());
  p.sequence_labels = integer && y.shape.size() == 2 && y.shape[1] > 1;
  return p;
}

// Samples from x_path, targets from y_path; `integer_input`: the model's input takes
// integers (token ids), which are not scaled.
Dataset make_dataset(const std::string& name, const std::string& x_path, const std::string& y_path,
                     bool integer_input) {
  return dataset_of_arrays(name, read_array(x_path), x_path, read_array(y_path), y_path, integer_input);
}

} // namespace

Dataset dataset_of_arrays(const std::string& name, dlc_rt::Array x, const std::string& x_what, dlc_rt::Array y,
                          const std::string& y_what, bool integer_input) {
  if (x.shape.empty() || y.shape.empty())
    throw Error(fmt::format("{}: an array of samples needs a first (sample) axis", x.shape.empty() ? x_what : y_what));
  if (x.shape[0] != y.shape[0])
    throw Error(fmt::format("{}: {} samples, but {} has {} targets", x_what, x.shape[0], y_what, y.shape[0]));
  check_finite(y_what, y.data, per_sample_of(y), "target");
  Dataset d;
  d.name = name;
  d.n = x.shape[0];
  d.x_shape.assign(x.shape.begin() + 1, x.shape.end());
  d.x = model_input_values(x_what, std::move(x), integer_input ? ir::DType::i32 : ir::DType::f32);
  Dataset::Part t = target_part(y);
  d.y_shape = t.shape;
  d.sequence_labels = t.sequence_labels;
  d.y = std::move(y.data);
  return d;
}

void split_validation(DataSplits& s, double val_split) {
  if (!(val_split >= 0 && val_split < 1))
    throw Error(fmt::format("validation split: expected a fraction in [0, 1), got {}", val_split));
  int64_t n_val = int64_t(std::floor(double(s.train.n) * val_split));
  if (n_val > 0) {
    if (n_val == s.train.n) throw Error("the validation split leaves no training samples");
    Dataset all = std::move(s.train);
    s.train = all.slice(0, all.n - n_val, all.name);
    s.val = all.slice(all.n - n_val, all.n, all.name + " (validation split)");
  }
}

namespace {

// The first file in `dir` whose name starts with one of the prefixes.
std::string find_file(const std::string& dir, std::initializer_list<const char*> prefixes) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const char* p : prefixes)
    for (auto& n : names)
      if (n.rfind(p, 0) == 0) return (fs::path(dir) / n).string();
  return "";
}

DataSplits load_idx_dir(const std::string& dir, const std::string& label, bool integer_input) {
  std::error_code ec;
  if (fs::is_regular_file(dir, ec))
    throw Error(fmt::format("--data {}: a file; expected a directory of IDX files, x.npy,y.npy (samples and "
                            "targets), or text:FILE",
                            dir));
  if (!fs::is_directory(dir, ec))
    throw Error(fmt::format("{}: no such directory{}", dir,
                            dir == kFashionMnistDir ? " (install Debian's dataset-fashion-mnist package)" : ""));
  std::string xtr = find_file(dir, {"train-images"}), ytr = find_file(dir, {"train-labels"});
  if (xtr.empty() || ytr.empty())
    throw Error(fmt::format("{}: expected train-images* and train-labels* IDX files", dir));
  DataSplits s;
  s.train = make_dataset(label + " train", xtr, ytr, integer_input);
  std::string xte = find_file(dir, {"t10k-images", "test-images"}), yte = find_file(dir, {"t10k-labels", "test-labels"});
  if (!xte.empty() && !yte.empty()) s.test = make_dataset(label + " test", xte, yte, integer_input);
  return s;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++)
    if (i == s.size() || s[i] == ',') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

} // namespace

std::vector<float> model_input_values(const std::string& what, dlc_rt::Array a, ir::DType input_dtype) {
  dlc_rt::to_input_values(a, ir::is_integer(input_dtype));
  check_finite(what, a.data, per_sample_of(a), "input");
  return std::move(a.data);
}

void check_finite(const std::string& what, const std::vector<float>& values, int64_t per_sample,
                  const char* kind) {
  for (size_t j = 0; j < values.size(); j++) {
    if (std::isfinite(values[j])) continue;
    const char* value = std::isnan(values[j]) ? "NaN" : values[j] > 0 ? "+inf" : "-inf";
    throw Error(fmt::format("{}: bad data: the {} of sample {} is {} at position {} (data must be finite numbers)",
                            what, kind, int64_t(j) / per_sample, value, int64_t(j) % per_sample));
  }
}

// Token ids: integers in [0, vocabulary), checked on the float (a cast of NaN or of a
// huge value would be undefined behaviour).
template <class T>
void check_token_ids(const std::string& what, const std::vector<T>& ids, int64_t per_sample, int64_t vocabulary) {
  for (size_t j = 0; j < ids.size(); j++) {
    double v = double(ids[j]);
    int64_t sample = int64_t(j) / per_sample, pos = int64_t(j) % per_sample;
    if (!(v >= 0 && v < double(vocabulary)))
      throw Error(fmt::format("{}: token id {} of sample {} at position {} is outside the model's vocabulary of {} "
                              "tokens (ids 0 to {})",
                              what, ids[j], sample, pos, vocabulary, vocabulary - 1));
    if (v != std::floor(v))
      throw Error(fmt::format("{}: token id {} of sample {} at position {} is not an integer", what, ids[j], sample, pos));
  }
}
template void check_token_ids(const std::string&, const std::vector<float>&, int64_t, int64_t);
template void check_token_ids(const std::string&, const std::vector<double>&, int64_t, int64_t);

namespace {

// Class ids per position [T] for an output [batch, T, C].
void check_sequence_labels(const Dataset& d, const ir::TensorType& output) {
  int64_t t = d.y_size();
  std::vector<int64_t> per_sample(output.shape.dims.begin() + 1, output.shape.dims.end());
  if (output.shape.rank() != 3 || output.shape[1] != t)
    throw Error(fmt::format("{}: targets are class ids at {} positions, the model's output is {} per sample "
                            "(expected [{}, classes])",
                            d.name, t, dlc_rt::shape_str(per_sample), t));
  int64_t classes = output.shape[2];
  for (size_t j = 0; j < d.y.size(); j++) {
    float v = d.y[j];
    if (!(v >= 0 && v < float(classes)) || v != std::floor(v))
      throw Error(fmt::format("{}: label {} of sample {} at position {} is outside the {} classes of the model's "
                              "output",
                              d.name, v, int64_t(j) / t, int64_t(j) % t, classes));
  }
}

} // namespace

int64_t TextCorpus::id_of(unsigned char c) const {
  size_t at = vocabulary.find(char(c));
  return at == std::string::npos ? -1 : int64_t(at);
}

TextCorpus load_text(const std::string& path, int64_t max_vocab) {
  TextCorpus t;
  t.path = path;
  std::string bytes = read_file(path);
  if (bytes.empty()) throw Error(fmt::format("{}: the text file is empty", path));
  bool seen[256] = {};
  for (unsigned char c : bytes) seen[c] = true;
  for (int c = 0; c < 256; c++)
    if (seen[c]) t.vocabulary.push_back(char(c));
  if (max_vocab > 0 && int64_t(t.vocabulary.size()) > max_vocab)
    throw Error(fmt::format("{}: {} distinct characters, more than the {} classes of the model's output (the "
                            "vocabulary is the file's distinct bytes)",
                            path, t.vocabulary.size(), max_vocab));
  int64_t id[256];
  for (size_t i = 0; i < t.vocabulary.size(); i++) id[(unsigned char)t.vocabulary[i]] = int64_t(i);
  t.ids.reserve(bytes.size());
  for (unsigned char c : bytes) t.ids.push_back(float(id[c]));
  return t;
}

TextModelShape text_model_shape(const Model& model, const std::string& what) {
  ir::Graph g = build_model(model, 1).graph;
  if (model.inputs.size() != 1 || model.inputs[0].shape.rank() != 1)
    throw Error(fmt::format("{}: the model needs one input of shape [T] (a window of T characters)", what));
  TextModelShape t;
  t.window = model.inputs[0].shape[0];
  const ir::Shape& out = g.type(g.outputs()[0].value).shape;
  t.per_position = out.rank() == 3 && out[1] == t.window;
  if (!t.per_position && out.rank() != 2)
    throw Error(fmt::format("{}: the model's output {} is neither [{}, classes] (the next character at every "
                            "position) nor [classes] (the character after the window)",
                            what, out.str(), t.window));
  t.classes = out[out.rank() - 1];
  return t;
}

DataSplits load_text_windows(const std::string& path, const Model& model) {
  TextModelShape shape = text_model_shape(model, "--data text:" + path);
  int64_t win = shape.window;
  bool per_position = shape.per_position;
  TextCorpus text = load_text(path, shape.classes);
  int64_t len = int64_t(text.ids.size());
  int64_t n = len > win ? (len - win - 1) / win + 1 : 0;
  if (n < 2)
    throw Error(fmt::format("{}: {} bytes make {} window(s) of {} characters and the next; text data needs at least "
                            "2 (one for the test split)",
                            path, len, n, win));
  Dataset all;
  all.name = path;
  all.n = n;
  all.x_shape = {win};
  all.sequence_labels = per_position;
  if (per_position) all.y_shape = {win};
  for (int64_t w = 0; w < n; w++) {
    auto at = text.ids.begin() + w * win;
    all.x.insert(all.x.end(), at, at + win);
    if (per_position)
      all.y.insert(all.y.end(), at + 1, at + win + 1);
    else
      all.y.push_back(*(at + win));
  }
  int64_t n_test = std::max<int64_t>(1, n / 10);
  DataSplits s;
  s.train = all.slice(0, n - n_test, path + " (text windows)");
  s.test = all.slice(n - n_test, n, path + " (test windows)");
  return s;
}

int64_t token_vocabulary(const ir::Graph& g, const std::string& input) {
  for (const ir::Node& n : g.nodes()) {
    if (n.operands.empty() || g.value(n.operands[0]).kind != ir::ValueKind::input ||
        g.value(n.operands[0]).name != input)
      continue;
    if (n.op->name == "embedding_lookup") return g.type(n.operands[1]).shape[0];
    if (n.op->name == "one_hot") return n.attrs.get_int("depth");
  }
  return 0;
}

namespace {

// One array of a named source as a part: its values per sample and what they are.
struct NamedArray {
  std::string path;
  Dataset::Part part;
  std::vector<float> values;
  int64_t n = 0;
};

NamedArray read_named(const std::string& path, const std::string& name, bool is_input, ir::DType input_dtype) {
  dlc_rt::Array a = read_array(path);
  NamedArray r;
  r.path = path;
  r.n = a.shape[0];
  r.part.name = name;
  if (is_input) {
    r.part.shape.assign(a.shape.begin() + 1, a.shape.end());
    r.values = model_input_values(path, std::move(a), input_dtype);
    return r;
  }
  check_finite(path, a.data, per_sample_of(a), "target");
  r.part = target_part(a);
  r.part.name = name;
  r.values = std::move(a.data);
  return r;
}

// Packs the arrays (inputs first, then targets) into one data set of rows.
Dataset pack(const std::string& name, const std::vector<NamedArray>& arrays, size_t inputs) {
  Dataset d;
  d.name = name;
  d.n = arrays.front().n;
  for (const NamedArray& a : arrays)
    if (a.n != d.n)
      throw Error(fmt::format("{}: {} samples, but {} has {}", a.path, a.n, arrays.front().path, d.n));
  for (size_t k = 0; k < arrays.size(); k++) (k < inputs ? d.x_parts : d.y_parts).push_back(arrays[k].part);
  int64_t xs = 0, ys = 0;
  for (auto& p : d.x_parts) xs += p.size();
  for (auto& p : d.y_parts) ys += p.size();
  d.x_shape = {xs};
  d.y_shape = {ys};
  // A single array on a side is that array as the unnamed forms read it (class labels
  // keep y_shape empty, sequence labels their flag): what the metrics and checks see.
  if (d.x_parts.size() == 1) d.x_shape = d.x_parts[0].shape;
  if (d.y_parts.size() == 1) {
    d.y_shape = d.y_parts[0].shape;
    d.sequence_labels = d.y_parts[0].sequence_labels;
  }
  d.x.reserve(size_t(d.n * xs));
  d.y.reserve(size_t(d.n * ys));
  for (int64_t i = 0; i < d.n; i++)
    for (size_t k = 0; k < arrays.size(); k++) {
      int64_t size = arrays[k].part.size();
      auto from = arrays[k].values.begin() + i * size;
      (k < inputs ? d.x : d.y).insert((k < inputs ? d.x : d.y).end(), from, from + size);
    }
  return d;
}

// NAME=... where NAME could name a model input or layer (letters, digits, '_', '-', '/'):
// a path such as "run=1/x.npy" is not taken for a name (it has no valid name before '=').
bool is_named_source(const std::string& source) {
  if (source.rfind("text:", 0) == 0) return false;
  size_t eq = source.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; i++) {
    char ch = source[i];
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) return false;
  }
  return true;
}

// "NAME=TRAIN.npy[:TEST.npy],...": one NAME per model input and per trained output.
DataSplits load_named(const std::string& source, const Model& model) {
  std::map<std::string, std::pair<std::string, std::string>> files; // name -> train, test
  for (const std::string& item : split_commas(source)) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw Error(fmt::format("--data {}: expected NAME=FILE.npy items (a model input or trained output each), got '{}'",
                              source, item));
    std::string name = item.substr(0, eq), path = item.substr(eq + 1), test;
    if (size_t colon = path.find(':'); colon != std::string::npos) {
      test = path.substr(colon + 1);
      path = path.substr(0, colon);
    }
    if (files.count(name)) throw Error(fmt::format("--data {}: '{}' is named twice", source, name));
    files[name] = {path, test};
  }
  std::vector<std::string> names;
  std::vector<ir::DType> dtypes;
  for (const InputSpec& in : model.inputs) names.push_back(in.name), dtypes.push_back(in.dtype);
  size_t inputs = names.size();
  for (const ir::LossSpec& l : model.training.losses) names.push_back(l.output);
  for (auto& [name, f] : files)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw Error(fmt::format("--data: '{}' is neither an input of model '{}' nor an output a loss trains; expected "
                              "{}",
                              name, model.name, join_names(names)));
  bool any_test = false, all_test = true;
  for (const std::string& name : names) {
    auto it = files.find(name);
    if (it == files.end())
      throw Error(fmt::format("--data: no array for '{}' (the model's {}): add {}=FILE.npy", name,
                              &name - names.data() < std::ptrdiff_t(inputs) ? "input" : "trained output", name));
    any_test |= !it->second.second.empty();
    all_test &= !it->second.second.empty();
  }
  if (any_test && !all_test)
    throw Error("--data: give a test array (NAME=TRAIN.npy:TEST.npy) for every name or for none");
  DataSplits s;
  for (int split = 0; split < (any_test ? 2 : 1); split++) {
    std::vector<NamedArray> arrays;
    for (size_t k = 0; k < names.size(); k++) {
      const auto& f = files.at(names[k]);
      arrays.push_back(read_named(split ? f.second : f.first, names[k], k < inputs, k < inputs ? dtypes[k] : ir::DType::f32));
    }
    (split ? s.test : s.train) = pack(split ? "named arrays (test)" : "named arrays", arrays, inputs);
  }
  return s;
}

} // namespace

// The targets of an autoencoder: the inputs as the model reads them.
void inputs_as_targets(Dataset& d) {
  d.y = d.x;
  d.y_shape = d.x_shape;
  d.sequence_labels = false;
}

DataSplits load_data(const std::string& source, double val_split, const Model* model, bool input_targets) {
  if (!(val_split >= 0 && val_split < 1))
    throw Error(fmt::format("--val-split: expected a fraction in [0, 1), got {}", val_split));
  if (input_targets && source.rfind("text:", 0) == 0)
    throw Error("--target input: text windows have no input-shaped targets");
  DataSplits s;
  bool integer_input = model && !model->inputs.empty() && ir::is_integer(model->inputs[0].dtype);
  if (is_named_source(source)) {
    if (!model) throw Error(fmt::format("--data {}: named arrays need a model to match names to", source));
    if (input_targets) throw Error("--target input: give the images as --data x.npy[,x_test.npy], not named arrays");
    s = load_named(source, *model);
  } else if (source.rfind("text:", 0) == 0) {
    if (!model) throw Error(fmt::format("--data {}: text data needs a model to cut windows for", source));
    s = load_text_windows(source.substr(5), *model);
  } else if (source == "fashion-mnist") {
    s = load_idx_dir(kFashionMnistDir, "fashion-mnist", integer_input);
  } else if (input_targets && source.size() > 4 && source.compare(source.size() - 4, 4, ".npy") == 0) {
    auto parts = split_commas(source);
    if (parts.size() > 2)
      throw Error(fmt::format("--data {}: with --target input, expected x.npy or x.npy,x_test.npy", source));
    s.train = make_dataset(parts[0], parts[0], parts[0], integer_input);
    if (parts.size() == 2) s.test = make_dataset(parts[1], parts[1], parts[1], integer_input);
  } else if (source.find(',') != std::string::npos) {
    auto parts = split_commas(source);
    if (parts.size() != 2 && parts.size() != 4)
      throw Error(fmt::format("--data {}: expected x.npy,y.npy or x.npy,y.npy,x_test.npy,y_test.npy", source));
    s.train = make_dataset(parts[0], parts[0], parts[1], integer_input);
    if (parts.size() == 4) s.test = make_dataset(parts[2], parts[2], parts[3], integer_input);
  } else if (source.size() > 4 && source.compare(source.size() - 4, 4, ".npy") == 0) {
    throw Error(fmt::format("--data {}: NPY data needs its targets too: --data {},y.npy (or "
                            "x.npy,y.npy,x_test.npy,y_test.npy)",
                            source, source));
  } else {
    s = load_idx_dir(source, source, integer_input);
  }
  if (s.train.n == 0) throw Error(fmt::format("--data {}: the training set is empty", source));
  if (input_targets) {
    inputs_as_targets(s.train);
    if (s.test.n) inputs_as_targets(s.test);
  }
  split_validation(s, val_split);
  return s;
}

namespace {

void check_inputs_fit(const Dataset& d, const InputSpec& input, int64_t vocabulary) {
  if (d.x_size() != input.shape.numel())
    throw Error(fmt::format("{}: samples have shape {} ({} values), the model's input '{}' is {} ({} values)",
                            d.name, dlc_rt::shape_str(d.x_shape), d.x_size(), input.name, input.shape.str(),
                            input.shape.numel()));
  if (vocabulary > 0) check_token_ids(d.name, d.x, d.x_size(), vocabulary);
}

void check_targets_fit(const Dataset& d, const ir::TensorType& output, const std::string& loss) {
  if (d.sequence_labels) return check_sequence_labels(d, output);
  int64_t out_size = output.shape.numel() / output.shape[0];
  if (!d.has_labels()) {
    if (d.y_size() != out_size)
      throw Error(fmt::format("{}: targets have shape {}, the model's output is {} per sample", d.name,
                              dlc_rt::shape_str(d.y_shape), out_size));
    return;
  }
  // Class labels: [0, classes), or 0/1 for a single unit (sigmoid with binary
  // cross-entropy, or mse). mse on several outputs sees the labels one-hot encoded (the
  // course's first Keras demo: mse on a softmax).
  int64_t classes = out_size == 1 && (loss == "binary_crossentropy" || loss == "mse") ? 2 : out_size;
  for (int64_t i = 0; i < d.n; i++) {
    float v = d.y[size_t(i)];
    if (!(v >= 0 && v < float(classes)) || v != std::floor(v))
      throw Error(fmt::format("{}: label {} of sample {} is outside the {} classes of the model's output", d.name,
                              v, i, classes));
  }
}

// Part k of d's inputs (targets) as a data set of one part, named after it.
Dataset part_of(const Dataset& d, bool targets, size_t k) {
  std::vector<Dataset::Part> parts = targets ? d.targets() : d.inputs();
  int64_t row = targets ? d.y_size() : d.x_size(), at = 0;
  for (size_t j = 0; j < k; j++) at += parts[j].size();
  const Dataset::Part& p = parts[k];
  Dataset one;
  one.name = p.name.empty() ? d.name : d.name + " '" + p.name + "'";
  one.n = d.n;
  std::vector<float>& dst = targets ? one.y : one.x;
  const std::vector<float>& src = targets ? d.y : d.x;
  for (int64_t i = 0; i < d.n; i++) dst.insert(dst.end(), src.begin() + i * row + at, src.begin() + i * row + at + p.size());
  (targets ? one.y_shape : one.x_shape) = p.shape;
  if (targets) one.sequence_labels = p.sequence_labels;
  return one;
}

} // namespace

void check_fits_model(const Dataset& d, const InputSpec& input, const ir::TensorType& output,
                      const std::string& loss, int64_t vocabulary) {
  if (d.n == 0) return;
  check_inputs_fit(d, input, vocabulary);
  check_targets_fit(d, output, loss);
}

void check_parts_fit_model(const Dataset& d, const Model& model, const std::vector<ir::TensorType>& outputs) {
  if (d.n == 0) return;
  ir::Graph g = build_model(model, 1).graph;
  std::vector<Dataset::Part> in = d.inputs(), tg = d.targets();
  if (in.size() != model.inputs.size())
    throw Error(fmt::format("{}: {} input arrays for the model's {} inputs", d.name, in.size(), model.inputs.size()));
  for (size_t k = 0; k < in.size(); k++)
    check_inputs_fit(in.size() == 1 ? d : part_of(d, false, k), model.inputs[k],
                     token_vocabulary(g, model.inputs[k].name));
  if (tg.size() != outputs.size())
    throw Error(fmt::format("{}: {} target arrays for the model's {} trained outputs", d.name, tg.size(), outputs.size()));
  for (size_t k = 0; k < tg.size(); k++) {
    const std::string& loss = k < model.training.losses.size() ? model.training.losses[k].type : "";
    check_targets_fit(tg.size() == 1 ? d : part_of(d, true, k), outputs[k], loss);
  }
}

} // namespace dlc::frontend
