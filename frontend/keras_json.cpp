// Keras model JSON -> dlc model JSON (frontend/keras_json.h). Read with nlohmann/json:
// positions in a generated file matter little, and each error names the layer instead.
#include "frontend/keras_json.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <vector>

namespace dlc::frontend {

namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

// A number beyond int64 where Keras writes an integer (reported with the file's name).
struct OutOfRange {
  double value;
};

// Why one layer cannot be read: collected for every layer, then one error.
struct Problem {
  std::string layer, what;
};

struct Reader {
  std::string path;
  bool keras3 = false; // keras_version 3.x: its names and defaults where they differ
  std::vector<Problem> problems;
  std::string layer; // the layer being read, for problems

  void problem(const std::string& what) { problems.push_back({layer, what}); }

  // An integer member: an integer, or a float with an integral value; a number beyond
  // int64 is an error (nlohmann's conversion of it would be undefined), anything else
  // nlohmann's type error.
  static int64_t whole(const json& v) {
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (!(std::abs(d) < 9.0e15)) throw OutOfRange{d};
      return int64_t(d);
    }
    return v.get<int64_t>();
  }

  // A config member, or `dflt` when absent or null.
  static json get(const json& c, const char* key, const json& dflt = nullptr) {
    auto it = c.find(key);
    return it == c.end() || it->is_null() ? dflt : *it;
  }

  // Keras's activation names; "linear" is dlc's identity too.
  // The activation under `key`; absent, the layer class's default (Dense's none, a
  // recurrent layer's tanh and sigmoid).
  std::string activation(const json& c, const char* key = "activation", const char* dflt = "linear") {
    json a = get(c, key, dflt);
    if (!a.is_string()) {
      problem(fmt::format("'{}' is not an activation name", key));
      return "linear";
    }
    return a.get<std::string>();
  }

  // Keras initializer objects {"class_name": "GlorotUniform", "config": {...}} as dlc's.
  ordered initializer(const json& c, const char* key) {
    json i = get(c, key);
    if (i.is_null()) return nullptr;
    std::string cls = i.is_string() ? i.get<std::string>() : get(i, "class_name", "").get<std::string>();
    json cfg = i.is_object() ? get(i, "config", json::object()) : json::object();
    static const std::map<std::string, std::string> plain = {
        {"GlorotUniform", "glorot_uniform"}, {"glorot_uniform", "glorot_uniform"}, {"GlorotNormal", "glorot_normal"},
        {"HeNormal", "he_normal"},           {"HeUniform", "he_uniform"},           {"LecunNormal", "lecun_normal"},
        {"Zeros", "zeros"},                  {"zeros", "zeros"},                    {"Ones", "ones"},
        {"ones", "ones"}};
    if (auto it = plain.find(cls); it != plain.end()) return it->second;
    if (cls == "Constant") return ordered{{"type", "constant"}, {"value", get(cfg, "value", 0.0)}};
    if (cls == "RandomNormal" || cls == "TruncatedNormal") {
      if (get(cfg, "mean", 0.0).get<double>() != 0) problem(fmt::format("{}: a {} with a mean other than 0", key, cls));
      return ordered{{"type", cls == "RandomNormal" ? "normal" : "truncated_normal"}, {"stddev", get(cfg, "stddev", 0.05)}};
    }
    if (cls == "RandomUniform") {
      double lo = get(cfg, "minval", -0.05).get<double>(), hi = get(cfg, "maxval", 0.05).get<double>();
      if (lo != -hi) problem(fmt::format("{}: RandomUniform({}, {}) is not symmetric around 0", key, lo, hi));
      return ordered{{"type", "uniform"}, {"limit", hi}};
    }
    if (cls == "Orthogonal") return ordered{{"type", "orthogonal"}, {"gain", get(cfg, "gain", 1.0)}};
    problem(fmt::format("{}: initializer '{}' is not read", key, cls));
    return nullptr;
  }

  // L1 / L2 / L1L2 regularizers.
  ordered regularizer(const json& c, const char* key) {
    json r = get(c, key);
    if (r.is_null()) return nullptr;
    std::string cls = get(r, "class_name", "").get<std::string>();
    json cfg = get(r, "config", json::object());
    if (cls == "L2") return ordered{{"type", "l1_l2"}, {"l1", 0.0}, {"l2", get(cfg, "l2", 0.01)}};
    if (cls == "L1") return ordered{{"type", "l1_l2"}, {"l1", get(cfg, "l1", 0.01)}, {"l2", 0.0}};
    if (cls == "L1L2") return ordered{{"type", "l1_l2"}, {"l1", get(cfg, "l1", 0.0)}, {"l2", get(cfg, "l2", 0.0)}};
    problem(fmt::format("{}: regularizer '{}' is not read", key, cls));
    return nullptr;
  }

  // Members every layer with weights shares: use_bias, initializers, regularizers;
  // constraints and activity regularizers are refused.
  void weights(const json& c, ordered& l) {
    if (c.contains("use_bias")) l["use_bias"] = get(c, "use_bias", true);
    for (const std::string name : {"kernel", "bias"}) {
      ordered init = initializer(c, (name + "_initializer").c_str());
      if (!init.is_null()) l[name + "_initializer"] = init;
      ordered reg = regularizer(c, (name + "_regularizer").c_str());
      if (!reg.is_null()) l[name + "_regularizer"] = reg;
      if (!get(c, (name + "_constraint").c_str()).is_null()) problem(name + "_constraint is not read");
    }
    if (!get(c, "activity_regularizer").is_null()) problem("activity_regularizer is not read");
  }

  void channels_last(const json& c) {
    std::string f = get(c, "data_format", "channels_last").get<std::string>();
    if (f != "channels_last") problem(fmt::format("data_format '{}' (dlc's images are channels_last, NHWC)", f));
  }

  void no_dilation(const json& c) {
    json d = get(c, "dilation_rate", 1);
    bool one = d.is_number() ? whole(d) == 1 : true;
    if (d.is_array())
      for (auto& v : d) one = one && whole(v) == 1;
    if (!one) problem("dilation_rate other than 1");
  }

  // Normalisation layers' axes as Keras saved them (checked against the built model).
  std::vector<std::pair<std::string, int64_t>> norm_axes;

  // One Keras layer as a dlc layer (without "inputs").
  ordered layer_of(const std::string& cls, const json& c) {
    ordered l = ordered::object();
    l["name"] = get(c, "name", layer);
    auto copy = [&](const char* from, const char* to = nullptr) {
      json v = get(c, from);
      if (!v.is_null()) l[to ? to : from] = v;
    };
    if (cls == "Dense") {
      l["type"] = "dense";
      copy("units");
      l["activation"] = activation(c);
      weights(c, l);
    } else if (cls == "Conv2D" || cls == "Conv1D") {
      l["type"] = cls == "Conv2D" ? "conv2d" : "conv1d";
      channels_last(c);
      no_dilation(c);
      if (whole(get(c, "groups", 1)) != 1) problem("groups other than 1");
      copy("filters");
      copy("kernel_size");
      copy("strides");
      copy("padding");
      l["activation"] = activation(c);
      weights(c, l);
    } else if (cls == "MaxPooling2D" || cls == "AveragePooling2D" || cls == "MaxPooling1D" || cls == "AveragePooling1D") {
      static const std::map<std::string, std::string> t = {{"MaxPooling2D", "max_pool2d"}, {"AveragePooling2D", "avg_pool2d"},
                                                           {"MaxPooling1D", "max_pool1d"}, {"AveragePooling1D", "avg_pool1d"}};
      l["type"] = t.at(cls);
      channels_last(c);
      copy("pool_size");
      copy("strides");
      copy("padding");
    } else if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D" || cls == "GlobalAveragePooling1D" ||
               cls == "GlobalMaxPooling1D") {
      static const std::map<std::string, std::string> t = {
          {"GlobalAveragePooling2D", "global_average_pooling2d"}, {"GlobalMaxPooling2D", "global_max_pooling2d"},
          {"GlobalAveragePooling1D", "global_average_pooling1d"}, {"GlobalMaxPooling1D", "global_max_pooling1d"}};
      l["type"] = t.at(cls);
      channels_last(c);
      copy("keepdims");
    } else if (cls == "Flatten") {
      l["type"] = "flatten";
      channels_last(c);
    } else if (cls == "Reshape") {
      l["type"] = "reshape";
      copy("target_shape");
    } else if (cls == "Dropout") {
      l["type"] = "dropout";
      copy("rate");
      if (!get(c, "noise_shape").is_null()) problem("noise_shape is not read");
    } else if (cls == "Activation") {
      l["type"] = "activation";
      l["activation"] = activation(c);
    } else if (cls == "LeakyReLU") {
      // Keras 2's LeakyReLU layer: alpha, 0.3 by default; Keras 3's: negative_slope, 0.2
      // by default (dlc's leaky_relu: 0.01).
      l["type"] = "activation";
      json slope = keras3 ? get(c, "negative_slope", 0.2) : get(c, "alpha", 0.3);
      l["activation"] = ordered{{"type", "leaky_relu"}, {"alpha", slope}};
    } else if (cls == "BatchNormalization" || cls == "LayerNormalization") {
      l["type"] = cls == "BatchNormalization" ? "batch_normalization" : "layer_normalization";
      json axis = get(c, "axis", -1);
      if (axis.is_array() && axis.size() == 1) axis = axis[0];
      if (!axis.is_number_integer()) problem(fmt::format("axis {} (dlc normalises the last axis)", get(c, "axis", -1).dump()));
      else if (axis.get<int64_t>() != -1) norm_axes.push_back({layer, axis.get<int64_t>()});
      for (const char* k : {"momentum", "epsilon", "center", "scale"})
        if (cls == "BatchNormalization" || std::string(k) != "momentum") copy(k);
      for (const char* k : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"})
        if (!get(c, k).is_null()) problem(std::string(k) + " is not read");
    } else if (cls == "Embedding") {
      l["type"] = "embedding";
      copy("input_dim");
      copy("output_dim");
      copy("mask_zero");
      ordered init = initializer(c, "embeddings_initializer");
      if (!init.is_null()) l["embeddings_initializer"] = init;
    } else if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN") {
      l["type"] = cls == "LSTM" ? "lstm" : cls == "GRU" ? "gru" : "simple_rnn";
      copy("units");
      l["activation"] = activation(c, "activation", "tanh");
      if (cls != "SimpleRNN") l["recurrent_activation"] = activation(c, "recurrent_activation", "sigmoid");
      for (const char* k : {"return_sequences", "return_state", "go_backwards", "stateful"}) copy(k);
      if (cls == "GRU") l["reset_after"] = get(c, "reset_after", true); // Keras 2's and 3's default
      if (get(c, "dropout", 0.0).get<double>() != 0 || get(c, "recurrent_dropout", 0.0).get<double>() != 0)
        problem("dropout inside the recurrent layer is not read");
      if (get(c, "unroll", false).get<bool>()) problem("unroll is not read");
      if (get(c, "time_major", false).get<bool>()) problem("time_major (dlc's sequences are [batch, time, features])");
      if (cls == "LSTM") copy("unit_forget_bias");
      weights(c, l);
      ordered rinit = initializer(c, "recurrent_initializer");
      if (!rinit.is_null()) l["recurrent_initializer"] = rinit;
    } else if (cls == "Add") {
      l["type"] = "add";
    } else if (cls == "Concatenate") {
      l["type"] = "concat";
      if (whole(get(c, "axis", -1)) != -1) problem("Concatenate on an axis other than the last");
    } else {
      problem(fmt::format("layer class '{}' has no dlc counterpart here", cls));
    }
    if (!get(c, "trainable", true).get<bool>() && l.contains("type") && cls != "Dropout" && cls != "Flatten")
      l["trainable"] = false;
    return l;
  }
};

std::string fail_text(const std::string& path, const std::vector<Problem>& problems) {
  std::string list;
  for (size_t i = 0; i < problems.size(); i++)
    list += fmt::format("{}layer '{}': {}", i ? "; " : "", problems[i].layer, problems[i].what);
  return fmt::format("{}: Keras model: {} layer problem{}: {}", path, problems.size(), problems.size() > 1 ? "s" : "",
                     list);
}

// The tensors a layer call reads, each as [layer, node index, tensor index]: Keras 2's
// node is a list of such lists ([["enc", 0, 1, {}], ...]); Keras 3's an object whose
// "args" hold {"class_name": "__keras_tensor__", "config": {"keras_history": [...]}},
// at any depth (a merge layer's list of tensors).
std::vector<json> node_tensors(const json& node) {
  std::vector<json> out;
  if (node.is_array()) {
    for (const json& ref : node)
      if (ref.is_array() && !ref.empty() && ref[0].is_string()) out.push_back(ref);
    return out;
  }
  std::function<void(const json&)> walk = [&](const json& v) {
    if (v.is_object()) {
      if (v.value("class_name", "") == "__keras_tensor__") {
        json h = Reader::get(Reader::get(v, "config", json::object()), "keras_history");
        if (h.is_array() && !h.empty() && h[0].is_string()) out.push_back(h);
        return;
      }
      for (auto& [k, x] : v.items()) walk(x);
    } else if (v.is_array()) {
      for (const json& x : v) walk(x);
    }
  };
  walk(Reader::get(node, "args", json::array()));
  return out;
}

// An InputLayer's (or first layer's) batch shape: Keras 2's batch_input_shape, Keras 3's
// batch_shape.
json batch_shape_of(const json& c) {
  json b = Reader::get(c, "batch_input_shape");
  return b.is_null() ? Reader::get(c, "batch_shape") : b;
}

// Keras's batch_input_shape [null, d...] as dlc's sample shape.
ordered sample_shape(Reader& r, const json& shape) {
  if (!shape.is_array() || shape.empty()) {
    r.problem("batch_input_shape is not a list");
    return ordered::array();
  }
  ordered s = ordered::array();
  for (size_t i = 1; i < shape.size(); i++) {
    if (!shape[i].is_number_integer()) r.problem("an input dimension other than a fixed size (None)");
    else s.push_back(shape[i].get<int64_t>());
  }
  return s;
}

} // namespace

namespace {

KerasModel translate(const std::string& text, const std::string& path) {
  json k = json::parse(text, nullptr, false);
  if (k.is_discarded()) throw Error(fmt::format("{}: not valid JSON", path));
  Reader r;
  r.path = path;
  r.keras3 = Reader::get(k, "keras_version", "").get<std::string>().rfind("3.", 0) == 0;
  std::string cls = Reader::get(k, "class_name", "").get<std::string>();
  json cfg = Reader::get(k, "config", json::object());
  json layers = Reader::get(cfg, "layers", json::array());
  if (!layers.is_array() || layers.empty())
    throw Error(fmt::format("{}: Keras model '{}' has no layers", path, cls));
  ordered out = ordered::object();
  out["name"] = Reader::get(cfg, "name", "keras_model");
  out["description"] = fmt::format("read from Keras's model JSON ({} {}, {})", cls,
                                   Reader::get(k, "keras_version", "of unknown version").get<std::string>(), path);
  if (cls == "Sequential") {
    ordered dlc_layers = ordered::array();
    for (const json& l : layers) {
      std::string lc = Reader::get(l, "class_name", "").get<std::string>();
      json c = Reader::get(l, "config", json::object());
      r.layer = Reader::get(c, "name", "?").get<std::string>();
      if (json b = batch_shape_of(c); !b.is_null() && !out.contains("input_shape")) {
        out["input_shape"] = sample_shape(r, b);
      }
      if (lc == "InputLayer") continue;
      dlc_layers.push_back(r.layer_of(lc, c));
    }
    if (!out.contains("input_shape")) {
      r.layer = "(model)";
      r.problem("no batch_input_shape: build the model (or give its first layer an input shape) before to_json()");
    }
    out["layers"] = dlc_layers;
  } else if (cls == "Functional" || cls == "Model") {
    ordered inputs = ordered::array(), dlc_layers = ordered::array();
    // A layer's outputs by tensor index: 0 its name; recurrent return_state 1 and 2.
    auto tensor = [](const json& ref) {
      std::string name = ref.at(0).get<std::string>();
      int64_t index = ref.size() > 2 ? Reader::whole(ref.at(2)) : 0;
      return index == 0 ? name : index == 1 ? name + ".h" : name + ".c";
    };
    for (const json& l : layers) {
      std::string lc = Reader::get(l, "class_name", "").get<std::string>();
      json c = Reader::get(l, "config", json::object());
      r.layer = Reader::get(l, "name", Reader::get(c, "name", "?")).get<std::string>();
      if (lc == "InputLayer") {
        ordered in = {{"name", r.layer}, {"shape", sample_shape(r, batch_shape_of(c))}};
        inputs.push_back(in);
        continue;
      }
      json nodes = Reader::get(l, "inbound_nodes", json::array());
      if (!nodes.is_array() || nodes.size() != 1 || node_tensors(nodes[0]).empty()) {
        r.problem(nodes.size() > 1 ? "a layer called more than once (shared weights) is not read"
                                   : "inbound_nodes in a form other than Keras 2's nested lists or Keras 3's args");
        continue;
      }
      ordered l_out = r.layer_of(lc, c);
      ordered ins = ordered::array();
      for (const json& ref : node_tensors(nodes[0])) ins.push_back(tensor(ref));
      l_out["inputs"] = ins.size() == 1 ? ordered(ins[0]) : ins;
      dlc_layers.push_back(l_out);
    }
    ordered outs = ordered::array();
    json out_refs = Reader::get(cfg, "output_layers", json::array());
    if (out_refs.is_array() && !out_refs.empty() && out_refs[0].is_string()) out_refs = json::array({out_refs}); // Keras 3: one
    for (const json& ref : out_refs) outs.push_back(tensor(ref));
    out["inputs"] = inputs;
    out["layers"] = dlc_layers;
    out["outputs"] = outs.size() == 1 ? ordered(outs[0]) : outs;
  } else {
    throw Error(fmt::format("{}: Keras model class '{}': dlc reads Sequential and Functional models", path, cls));
  }
  if (!r.problems.empty()) throw Error(fail_text(path, r.problems));
  return {out.dump(2), r.norm_axes};
}

} // namespace

KerasModel keras_to_dlc(const std::string& text, const std::string& path) {
  try {
    return translate(text, path);
  } catch (const nlohmann::json::exception& e) { // a member of another type than Keras writes
    throw Error(fmt::format("{}: Keras model: unexpected JSON ({})", path, e.what()));
  } catch (const OutOfRange& e) {
    throw Error(fmt::format("{}: Keras model: the number {} is out of range", path, e.value));
  }
}

} // namespace dlc::frontend
