#include "frontend/weights.h"

#include "frontend/dataset.h"
#include "frontend/files.h"
#include "frontend/keras_h5.h"
#include "runtime/npy.h"
#include "runtime/safetensors.h"

#include <algorithm>
#include <set>

namespace dlc::frontend {

std::string WeightsReport::text() const {
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 8; i++) s += (i ? ", " : "") + v[i];
    return v.size() > 8 ? s + fmt::format(" and {} more", v.size() - 8) : s;
  };
  std::string s = fmt::format("loaded {} tensor{}", loaded.size(), loaded.size() == 1 ? "" : "s");
  if (!missing.empty()) s += fmt::format("; initialised {} from the seed: {}", missing.size(), list(missing));
  if (!ignored.empty()) s += fmt::format("; ignored {}: {}", ignored.size(), list(ignored));
  if (optimizer_state > 0) s += fmt::format("; skipped {} optimizer-state tensors", optimizer_state);
  return s;
}

ir::Bindings load_weights(const std::string& path, const ir::Graph& g, bool partial, WeightsReport* report) {
  dlc_rt::TensorMap tensors;
  try {
    tensors = is_h5_path(path) ? read_keras_h5(path) : dlc_rt::read_safetensors_bytes(read_file(path));
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  WeightsReport r;
  ir::Bindings out;
  std::set<std::string> used;
  std::vector<std::string> names;
  for (ir::ValueId p : g.params()) names.push_back(g.value(p).name);
  auto take = [&](const ir::Value& v, const dlc_rt::Array& a) {
    out[v.name] = ir::Tensor(v.type, a.data);
    used.insert(v.name);
    r.loaded.push_back(v.name);
  };
  for (ir::ValueId p : g.params()) {
    const ir::Value& v = g.value(p);
    auto it = tensors.find(v.name);
    if (it == tensors.end()) {
      if (!partial)
        throw Error(fmt::format("{}: no tensor for parameter '{}' ({}); the file has {}{}", path, v.name, v.type.str(),
                                tensors.empty() ? "no tensors" : "tensors for another model?",
                                tensors.empty() ? "" : " (dlc train --weights-partial loads what matches)"));
      r.missing.push_back(v.name);
      continue;
    }
    const dlc_rt::Array& a = it->second;
    if (a.shape != v.type.shape.dims) {
      if (!partial)
        throw Error(fmt::format("{}: tensor '{}' has shape {}, the model's parameter is {}", path, v.name,
                                dlc_rt::shape_str(a.shape), v.type.shape.str()));
      r.missing.push_back(v.name);
      r.ignored.push_back(fmt::format("{} (shape {}, the model's is {})", v.name, dlc_rt::shape_str(a.shape),
                                      v.type.shape.str()));
      used.insert(v.name);
      continue;
    }
    take(v, a);
  }
  for (ir::ValueId s : g.states()) { // a stateful layer's carried states, in a checkpoint
    const ir::Value& v = g.value(s);
    auto it = tensors.find(v.name);
    if (it != tensors.end() && it->second.shape == v.type.shape.dims) take(v, it->second);
  }
  // A training checkpoint's optimizer state: "<param>.<slot>" and "opt.<counter>".
  auto optimizer_state = [&](const std::string& name) {
    if (name.rfind("opt.", 0) == 0) return true;
    size_t dot = name.rfind('.');
    return dot != std::string::npos && std::find(names.begin(), names.end(), name.substr(0, dot)) != names.end();
  };
  for (auto& [name, a] : tensors) {
    if (used.count(name)) continue;
    if (optimizer_state(name)) {
      r.optimizer_state++;
      continue;
    }
    if (!partial)
      throw Error(fmt::format("{}: tensor '{}' matches no parameter of the model{}", path, name,
                              did_you_mean(name, names)));
    r.ignored.push_back(fmt::format("{} (no such parameter)", name));
  }
  if (report) *report = r;
  return out;
}

ir::Bindings initial_values(const Model& m, const ir::Graph& g, uint64_t seed) {
  return m.weights ? *m.weights : ir::init_params(g, seed);
}

void save_weights(const std::string& path, const ir::Graph& g, const ir::Bindings& values,
                  bool with_state) {
  dlc_rt::TensorMap out;
  auto put = [&](ir::ValueId id) {
    const ir::Value& v = g.value(id);
    auto it = values.find(v.name);
    if (it == values.end()) throw Error(fmt::format("no value for '{}' to save", v.name));
    out[v.name] = dlc_rt::Array{v.type.shape.dims, it->second.to_float(), "F32"};
  };
  for (ir::ValueId p : g.params()) put(p);
  if (with_state)
    for (ir::ValueId s : g.states()) put(s);
  write_file_atomic(path, dlc_rt::safetensors_bytes(out, {{"format", "dlc"}, {"model", g.name}}));
}

ir::Tensor input_from_npy(const std::string& path, const InputSpec& input) {
  dlc_rt::Array a;
  try {
    a = dlc_rt::read_npy_bytes(read_file(path));
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  std::vector<int64_t> shape = a.shape;
  if (shape == input.shape.dims) shape.insert(shape.begin(), 1); // one sample, no batch axis
  bool ok = shape.size() == input.shape.dims.size() + 1 && shape[0] > 0 &&
            std::equal(input.shape.dims.begin(), input.shape.dims.end(), shape.begin() + 1);
  if (!ok)
    throw Error(fmt::format("{}: array has shape {}, input '{}' expects [n,{}]", path,
                            dlc_rt::shape_str(a.shape), input.name,
                            input.shape.str().substr(1, input.shape.str().size() - 2)));
  a.shape = shape;
  std::vector<float> values = model_input_values(path, std::move(a), input.dtype); // as dlc train reads it
  if (ir::is_integer(input.dtype))
    for (float v : values)
      if (v != float(int64_t(v)))
        throw Error(fmt::format("{}: input '{}' takes integers ({}), found {}", path, input.name,
                                ir::dtype_name(input.dtype), v));
  return ir::Tensor(ir::TensorType{input.dtype, ir::Shape(shape)}, values);
}

} // namespace dlc::frontend
