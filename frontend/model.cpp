#include "frontend/model.h"

#include "frontend/layers.h"
#include "ir/verifier.h"

#include <map>

namespace dlc::frontend {

TrainingSpec parse_training_spec(const JsonRef& root, const std::vector<std::string>& outputs);

namespace {

const std::vector<std::string> kSequentialKeys = {
    "name", "description", "input_shape", "input_dtype", "layers", "loss", "optimizer",
    "batch_size", "epochs", "metrics"};
const std::vector<std::string> kGraphKeys = {
    "name", "description", "inputs", "outputs", "layers", "loss", "optimizer", "batch_size",
    "epochs", "metrics"};

bool is_graph_form(const JsonRef& root) { return root.has("inputs") || root.has("outputs"); }

ir::DType read_dtype(const JsonRef& r) {
  ir::DType t;
  std::string s = r.as_string();
  if (!ir::parse_dtype(s, t) || !(t == ir::DType::f32 || t == ir::DType::i32 || t == ir::DType::i64))
    r.fail("unknown input dtype '{}'; use f32, i32 or i64", s);
  return t;
}

ir::Shape read_shape(const JsonRef& r) {
  r.expect(json::Kind::Array);
  if (r.size() == 0) r.fail("an input shape needs at least one extent (the batch axis is implicit)");
  ir::Shape s;
  for (size_t i = 0; i < r.size(); i++) s.dims.push_back(r.at(i).as_positive_int());
  return s;
}

std::vector<InputSpec> read_inputs(const JsonRef& root) {
  std::vector<InputSpec> out;
  if (!is_graph_form(root)) {
    auto shape = root.get("input_shape");
    if (!shape)
      root.fail("missing 'input_shape' (the shape of one sample, e.g. [28, 28, 1]); a graph-form "
                "model declares 'inputs' instead");
    InputSpec in{"input", ir::DType::f32, read_shape(*shape)};
    if (auto d = root.get("input_dtype")) in.dtype = read_dtype(*d);
    out.push_back(in);
    return out;
  }
  auto ins = root.require("inputs");
  ins.expect(json::Kind::Array);
  if (ins.size() == 0) ins.fail("a model needs at least one input");
  for (size_t i = 0; i < ins.size(); i++) {
    JsonRef r = ins.at(i);
    r.expect_only({"name", "shape", "dtype"}, "a model input");
    InputSpec in{r.require("name").as_string(), ir::DType::f32, read_shape(r.require("shape"))};
    if (auto d = r.get("dtype")) in.dtype = read_dtype(*d);
    for (auto& o : out)
      if (o.name == in.name) r.require("name").fail("input name '{}' is used twice", in.name);
    out.push_back(in);
  }
  return out;
}

std::vector<std::string> read_output_names(const JsonRef& root) {
  if (!is_graph_form(root)) {
    auto layers = root.require("layers");
    layers.expect(json::Kind::Array);
    if (layers.size() == 0) layers.fail("a model needs at least one layer");
    return {};
  }
  auto outs = root.require("outputs");
  std::vector<std::string> names;
  if (outs.is(json::Kind::String)) return {outs.as_string()};
  outs.expect(json::Kind::Array);
  if (outs.size() == 0) outs.fail("a model needs at least one output");
  for (size_t i = 0; i < outs.size(); i++) names.push_back(outs.at(i).as_string());
  return names;
}

} // namespace

BuiltModel build_model(const Model& model, int64_t batch) {
  if (batch <= 0) throw Error(fmt::format("batch size must be positive, got {}", batch));
  JsonRef root = root_of(model.doc);
  bool graph_form = is_graph_form(root);
  BuiltModel bm;
  bm.graph.name = model.name;
  std::map<std::string, Producer> producers; // by layer or input name
  std::vector<std::string> defined;
  for (auto& in : model.inputs) {
    ir::Shape s = in.shape;
    s.dims.insert(s.dims.begin(), batch);
    ir::ValueId v = bm.graph.add_input(in.name, ir::TensorType{in.dtype, s});
    producers[in.name] = {v, in.name};
    defined.push_back(in.name);
  }

  JsonRef layers = root.require("layers");
  layers.expect(json::Kind::Array);
  if (layers.size() == 0) layers.fail("a model needs at least one layer");
  std::map<std::string, int> type_count;
  std::string last;
  std::vector<std::string> all_names; // every layer name in the file, for "defined later"
  for (size_t i = 0; i < layers.size(); i++)
    if (layers.at(i).is(json::Kind::Object))
      if (auto n = layers.at(i).get("name"); n && n->is(json::Kind::String)) all_names.push_back(n->as_string());

  for (size_t i = 0; i < layers.size(); i++) {
    JsonRef spec = layers.at(i);
    spec.expect(json::Kind::Object);
    JsonRef type_ref = spec.require("type");
    std::string type = type_ref.as_string();
    const LayerDef* def = find_layer(type);
    if (!def) {
      std::string hint = did_you_mean(type, layer_types());
      type_ref.fail("unknown layer type '{}'{}", type,
                    hint.empty() ? "; known: " + join_names(layer_types()) : hint);
    }
    std::vector<std::string> keys = def->keys;
    keys.insert(keys.end(), {"type", "name"});
    if (graph_form) keys.push_back("inputs");
    spec.expect_only(keys, "layer type '" + type + "'");

    LayerInfo info;
    info.type = type;
    int k = ++type_count[type];
    if (auto n = spec.get("name")) {
      info.name = n->as_string();
      if (info.name.empty()) n->fail("a layer name must not be empty");
      if (producers.count(info.name)) n->fail("name '{}' is used twice", info.name);
    } else {
      if (graph_form) spec.fail("layer {} has no 'name'; graph-form layers need one", i);
      info.name = fmt::format("{}_{}", type, k);
      while (producers.count(info.name)) info.name += "_";
    }

    std::vector<Producer> ins;
    if (graph_form) {
      JsonRef in_ref = spec.require("inputs");
      std::vector<std::string> names;
      if (in_ref.is(json::Kind::String)) names.push_back(in_ref.as_string());
      else {
        in_ref.expect(json::Kind::Array);
        for (size_t j = 0; j < in_ref.size(); j++) names.push_back(in_ref.at(j).as_string());
      }
      for (auto& n : names) {
        auto it = producers.find(n);
        if (it != producers.end()) {
          ins.push_back(it->second);
          continue;
        }
        bool later = false;
        for (auto& a : all_names) later |= a == n;
        if (later) in_ref.fail("layer '{}' reads '{}', which is defined after it; list layers in order", info.name, n);
        std::string hint = did_you_mean(n, defined);
        in_ref.fail("layer '{}' reads '{}', which is no input or earlier layer{}", info.name, n,
                    hint.empty() ? "; known: " + join_names(defined) : hint);
      }
    } else if (!last.empty()) {
      ins.push_back(producers.at(last));
    } else {
      ins.push_back(producers.at(model.inputs[0].name));
    }
    int n_in = int(ins.size());
    if (n_in < def->min_inputs || (def->max_inputs >= 0 && n_in > def->max_inputs)) {
      if (!graph_form)
        spec.fail("layer '{}' ({}) merges several inputs; use the graph form (\"inputs\"/\"outputs\")", info.name, type);
      spec.fail("layer '{}' ({}) takes {} input{}, got {}", info.name, type,
                def->max_inputs < 0 ? fmt::format("at least {}", def->min_inputs) : std::to_string(def->min_inputs),
                def->min_inputs == 1 && def->max_inputs == 1 ? "" : "s", n_in);
    }
    for (auto& p : ins) info.inputs.push_back(p.layer);
    LayerCtx ctx{bm.graph, spec, info, ins};
    ir::ValueId out = def->build(ctx);
    info.output = out;
    producers[info.name] = {out, info.name};
    defined.push_back(info.name);
    last = info.name;
    bm.layers.push_back(std::move(info));
  }

  std::vector<std::string> outputs = read_output_names(root);
  if (!graph_form) outputs = {last};
  for (size_t i = 0; i < outputs.size(); i++) {
    auto it = producers.find(outputs[i]);
    if (it == producers.end()) {
      JsonRef outs = root.require("outputs");
      JsonRef at = outs.is(json::Kind::Array) ? outs.at(i) : outs;
      std::string hint = did_you_mean(outputs[i], defined);
      at.fail("output '{}' is no layer{}", outputs[i], hint.empty() ? "; known: " + join_names(defined) : hint);
    }
    bm.graph.add_output(outputs[i], it->second.value);
  }
  ir::verify(bm.graph);
  return bm;
}

static Model model_from_doc(std::shared_ptr<JsonDoc> doc) {
  Model m;
  m.doc = std::move(doc);
  JsonRef root = root_of(m.doc);
  root.expect(json::Kind::Object);
  root.expect_only(is_graph_form(root) ? kGraphKeys : kSequentialKeys, "a model");
  m.name = root.get_string("name", "model");
  m.inputs = read_inputs(root);
  // Building once checks every layer and shape, and names the outputs.
  BuiltModel bm = build_model(m, 1);
  std::vector<std::string> outs;
  for (auto& o : bm.graph.outputs()) outs.push_back(o.name);
  m.training = parse_training_spec(root, outs);
  return m;
}

Model load_model_text(const std::string& text, const std::string& name) {
  return model_from_doc(parse_json_text(text, name));
}

Model load_model(const std::string& path) { return model_from_doc(load_json_file(path)); }

} // namespace dlc::frontend
