// Keras HDF5 weights -> dlc parameters (frontend/keras_h5.h), with libhdf5's C API.
// HDF5's own error printing is off; every failing call becomes one dlc::Error.
#include "frontend/keras_h5.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <hdf5.h>

#include <vector>

namespace dlc::frontend {

namespace {

constexpr hsize_t kMaxElements = hsize_t(1) << 28;

// An HDF5 handle closed when it goes out of scope.
struct Handle {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id >= 0 && close) close(id);
  }
  bool ok() const { return id >= 0; }
};

struct Reader {
  std::string path;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: Keras HDF5 weights: {}", path, what));
  }

  // A string-array attribute (layer_names, weight_names): fixed- or variable-length.
  std::vector<std::string> strings(hid_t obj, const char* name) const {
    if (H5Aexists(obj, name) <= 0) fail(fmt::format("no '{}' attribute (not a file of model.save_weights?)", name));
    Handle a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    Handle type(H5Aget_type(a.id), H5Tclose), space(H5Aget_space(a.id), H5Sclose);
    if (!a.ok() || !type.ok() || !space.ok() || H5Tget_class(type.id) != H5T_STRING)
      fail(fmt::format("attribute '{}' is not a list of strings", name));
    hssize_t n = H5Sget_simple_extent_npoints(space.id);
    if (n < 0 || n > 1000000) fail(fmt::format("attribute '{}' has {} strings", name, n));
    std::vector<std::string> out;
    if (H5Tis_variable_str(type.id) > 0) {
      std::vector<char*> v(size_t(n), nullptr);
      Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem.id, H5T_VARIABLE);
      if (n > 0 && H5Aread(a.id, mem.id, v.data()) < 0) fail(fmt::format("attribute '{}' cannot be read", name));
      for (char* s : v) out.push_back(s ? s : "");
      if (n > 0) H5Dvlen_reclaim(mem.id, space.id, H5P_DEFAULT, v.data());
    } else {
      size_t width = H5Tget_size(type.id);
      if (width == 0 || width > 65536) fail(fmt::format("attribute '{}' has strings of {} bytes", name, width));
      std::vector<char> buf(size_t(n) * width + 1, '\0');
      if (n > 0 && H5Aread(a.id, type.id, buf.data()) < 0) fail(fmt::format("attribute '{}' cannot be read", name));
      for (hssize_t i = 0; i < n; i++) {
        const char* s = buf.data() + size_t(i) * width;
        out.emplace_back(s, strnlen(s, width));
      }
    }
    return out;
  }

  dlc_rt::Array dataset(hid_t group, const std::string& name) const {
    if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) fail(fmt::format("no dataset '{}'", name));
    Handle d(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.ok()) fail(fmt::format("'{}' is not a dataset", name));
    Handle type(H5Dget_type(d.id), H5Tclose), space(H5Dget_space(d.id), H5Sclose);
    if (!type.ok() || !space.ok() || H5Tget_class(type.id) != H5T_FLOAT)
      fail(fmt::format("dataset '{}' is not an array of floats", name));
    int rank = H5Sget_simple_extent_ndims(space.id);
    if (rank < 0 || rank > 8) fail(fmt::format("dataset '{}' has rank {}", name, rank));
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
    dlc_rt::Array a;
    hsize_t n = 1;
    for (hsize_t v : dims) {
      if (v > 0 && n > kMaxElements / v) fail(fmt::format("dataset '{}' has over 2^28 elements", name));
      n *= v;
      a.shape.push_back(int64_t(v));
    }
    a.data.resize(size_t(n));
    if (n > 0 && H5Dread(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data.data()) < 0)
      fail(fmt::format("dataset '{}' cannot be read", name));
    a.dtype = "F32";
    return a;
  }
};

} // namespace

bool is_h5_path(const std::string& path) {
  return (path.size() > 3 && path.ends_with(".h5")) || (path.size() > 5 && path.ends_with(".hdf5"));
}

dlc_rt::TensorMap read_keras_h5(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); // errors are dlc's, one line each
  Reader r{path};
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw Error(fmt::format("{}: cannot open file", path));
    std::fclose(f);
    r.fail("not an HDF5 file");
  }
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) r.fail("the file cannot be opened");
  // model.save()'s files keep the weights in a group of their own.
  bool whole_model = H5Lexists(file.id, "model_weights", H5P_DEFAULT) > 0;
  Handle root(H5Gopen2(file.id, whole_model ? "model_weights" : "/", H5P_DEFAULT), H5Gclose);
  if (!root.ok()) r.fail("no weights group");
  dlc_rt::TensorMap out;
  for (const std::string& layer : r.strings(root.id, "layer_names")) {
    if (H5Lexists(root.id, layer.c_str(), H5P_DEFAULT) <= 0) r.fail(fmt::format("no group for layer '{}'", layer));
    Handle g(H5Gopen2(root.id, layer.c_str(), H5P_DEFAULT), H5Gclose);
    if (!g.ok()) r.fail(fmt::format("'{}' is not a group", layer));
    for (const std::string& w : r.strings(g.id, "weight_names")) {
      // "dense/kernel:0" -> "dense.kernel"; "lstm/lstm_cell/kernel:0" -> "lstm.kernel".
      std::string base = w.substr(w.rfind('/') == std::string::npos ? 0 : w.rfind('/') + 1);
      base = base.substr(0, base.find(':'));
      if (base.empty()) r.fail(fmt::format("layer '{}': weight name '{}'", layer, w));
      std::string name = layer + "." + base;
      if (out.count(name)) r.fail(fmt::format("layer '{}': two weights named '{}'", layer, base));
      out[name] = r.dataset(g.id, w);
    }
  }
  return out;
}

} // namespace dlc::frontend
