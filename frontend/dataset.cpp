#include "frontend/dataset.h"

#include "frontend/files.h"
#include "ir/error.h"
#include "runtime/idx.h"
#include "runtime/npy.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace dlc::frontend {

namespace fs = std::filesystem;

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
  d.x.assign(x.begin() + begin * x_size(), x.begin() + end * x_size());
  d.y.assign(y.begin() + begin * y_size(), y.begin() + end * y_size());
  return d;
}

namespace {

// Reads an IDX or NPY file into an array, scaling 8-bit images to [0, 1] when asked.
dlc_rt::Array read_array(const std::string& path, bool scale_bytes) {
  dlc_rt::Array a;
  try {
    std::string bytes = read_file(path);
    bool npy = bytes.size() >= 6 && bytes.compare(0, 6, "\x93NUMPY") == 0;
    a = npy ? dlc_rt::read_npy_bytes(bytes) : dlc_rt::read_idx_bytes(bytes);
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  if (a.shape.empty()) throw Error(fmt::format("{}: expected an array of samples, got a scalar", path));
  if (scale_bytes && a.dtype == "u8")
    for (float& v : a.data) v /= 255.0f;
  return a;
}

Dataset make_dataset(const std::string& name, const std::string& x_path, const std::string& y_path) {
  dlc_rt::Array x = read_array(x_path, true), y = read_array(y_path, false);
  if (x.shape[0] != y.shape[0])
    throw Error(fmt::format("{}: {} samples, but {} has {} targets", x_path, x.shape[0], y_path, y.shape[0]));
  Dataset d;
  d.name = name;
  d.n = x.shape[0];
  d.x_shape.assign(x.shape.begin() + 1, x.shape.end());
  d.x = std::move(x.data);
  // Integer vectors (or [n, 1]) are class labels; anything else is a target per sample.
  bool integer = y.dtype != "f32" && y.dtype != "f64" && y.dtype != "F32" && y.dtype != "F64";
  bool labels = integer && (y.shape.size() == 1 || (y.shape.size() == 2 && y.shape[1] == 1));
  if (!labels) d.y_shape.assign(y.shape.begin() + 1, y.shape.end());
  d.y = std::move(y.data);
  return d;
}

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

DataSplits load_idx_dir(const std::string& dir, const std::string& label) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(fmt::format("{}: no such directory{}", dir,
                            dir == kFashionMnistDir ? " (install Debian's dataset-fashion-mnist package)" : ""));
  std::string xtr = find_file(dir, {"train-images"}), ytr = find_file(dir, {"train-labels"});
  if (xtr.empty() || ytr.empty())
    throw Error(fmt::format("{}: expected train-images* and train-labels* IDX files", dir));
  DataSplits s;
  s.train = make_dataset(label + " train", xtr, ytr);
  std::string xte = find_file(dir, {"t10k-images", "test-images"}), yte = find_file(dir, {"t10k-labels", "test-labels"});
  if (!xte.empty() && !yte.empty()) s.test = make_dataset(label + " test", xte, yte);
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

DataSplits load_data(const std::string& source, double val_split) {
  if (!(val_split >= 0 && val_split < 1))
    throw Error(fmt::format("--val-split: expected a fraction in [0, 1), got {}", val_split));
  DataSplits s;
  if (source == "fashion-mnist") {
    s = load_idx_dir(kFashionMnistDir, "fashion-mnist");
  } else if (source.find(',') != std::string::npos) {
    auto parts = split_commas(source);
    if (parts.size() != 2 && parts.size() != 4)
      throw Error(fmt::format("--data {}: expected x.npy,y.npy or x.npy,y.npy,x_test.npy,y_test.npy", source));
    s.train = make_dataset(parts[0], parts[0], parts[1]);
    if (parts.size() == 4) s.test = make_dataset(parts[2], parts[2], parts[3]);
  } else {
    s = load_idx_dir(source, source);
  }
  if (s.train.n == 0) throw Error(fmt::format("--data {}: the training set is empty", source));
  int64_t n_val = int64_t(std::floor(double(s.train.n) * val_split));
  if (n_val > 0) {
    if (n_val == s.train.n) throw Error("--val-split leaves no training samples");
    Dataset all = std::move(s.train);
    s.train = all.slice(0, all.n - n_val, all.name);
    s.val = all.slice(all.n - n_val, all.n, all.name + " (validation split)");
  }
  return s;
}

void check_fits_model(const Dataset& d, const InputSpec& input, const ir::TensorType& output,
                      const std::string& loss) {
  if (d.n == 0) return;
  if (d.x_size() != input.shape.numel())
    throw Error(fmt::format("{}: samples have shape {} ({} values), the model's input '{}' is {} ({} values)",
                            d.name, dlc_rt::shape_str(d.x_shape), d.x_size(), input.name, input.shape.str(),
                            input.shape.numel()));
  int64_t out_size = output.shape.numel() / output.shape[0];
  if (!d.has_labels()) {
    if (d.y_size() != out_size)
      throw Error(fmt::format("{}: targets have shape {}, the model's output is {} per sample", d.name,
                              dlc_rt::shape_str(d.y_shape), out_size));
    return;
  }
  // Class labels: [0, classes), or 0/1 for a single sigmoid unit.
  int64_t classes = out_size == 1 && loss == "binary_crossentropy" ? 2 : out_size;
  if (loss == "mse" && out_size != 1)
    throw Error(fmt::format("{}: class labels need a classification loss; the model uses mse with {} outputs",
                            d.name, out_size));
  for (int64_t i = 0; i < d.n; i++) {
    float v = d.y[size_t(i)];
    if (!(v >= 0 && v < float(classes)) || v != std::floor(v))
      throw Error(fmt::format("{}: label {} of sample {} is outside the {} classes of the model's output", d.name,
                              v, i, classes));
  }
}

} // namespace dlc::frontend
