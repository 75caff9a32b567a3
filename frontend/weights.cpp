#include "frontend/weights.h"

#include "frontend/dataset.h"
#include "frontend/files.h"
#include "runtime/npy.h"
#include "runtime/safetensors.h"

#include <set>

namespace dlc::frontend {

ir::Bindings load_weights(const std::string& path, const ir::Graph& g) {
  dlc_rt::TensorMap tensors;
  try {
    tensors = dlc_rt::read_safetensors_bytes(read_file(path));
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  ir::Bindings out;
  std::set<std::string> used;
  std::vector<std::string> names;
  for (ir::ValueId p : g.params()) names.push_back(g.value(p).name);
  for (ir::ValueId p : g.params()) {
    const ir::Value& v = g.value(p);
    auto it = tensors.find(v.name);
    if (it == tensors.end())
      throw Error(fmt::format("{}: no tensor for parameter '{}' ({}); the file has {}", path, v.name,
                              v.type.str(), tensors.empty() ? "no tensors" : "tensors for another model?"));
    const dlc_rt::Array& a = it->second;
    if (a.shape != v.type.shape.dims)
      throw Error(fmt::format("{}: tensor '{}' has shape {}, the model's parameter is {}", path,
                              v.name, dlc_rt::shape_str(a.shape), v.type.shape.str()));
    out[v.name] = ir::Tensor(v.type, a.data);
    used.insert(v.name);
  }
  for (auto& [name, a] : tensors)
    if (!used.count(name))
      throw Error(fmt::format("{}: tensor '{}' matches no parameter of the model{}", path, name,
                              did_you_mean(name, names)));
  return out;
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
