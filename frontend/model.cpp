#include "frontend/model.h"

#include "frontend/files.h"
#include "frontend/keras_json.h"
#include "frontend/onnx_import.h"
#include "frontend/layers.h"
#include "ir/verifier.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace dlc::frontend {

TrainingSpec parse_training_spec(const JsonRef& root, const ir::Graph& forward);

namespace {

const std::vector<std::string> kSequentialKeys = {
    "name", "description", "input_shape", "input_dtype", "layers", "loss", "loss_weights",
    "optimizer", "batch_size", "epochs", "metrics"};
const std::vector<std::string> kGraphKeys = {
    "name", "description", "inputs", "outputs", "layers", "loss", "loss_weights", "optimizer",
    "batch_size", "epochs", "metrics"};

bool is_graph_form(const JsonRef& root) { return root.has("inputs") || root.has("outputs"); }

std::string hint_or_list(const std::string& word, const std::vector<std::string>& known) {
  std::string hint = did_you_mean(word, known);
  return hint.empty() ? "; known: " + join_names(known) : hint;
}

// Names of layers and inputs become value names ("dense_1.kernel"): a '.' would make
// parameter names ambiguous, so names keep to letters, digits, '_', '-' and '/'.
// Names also reach emitted C++ (identifiers, comments, string literals) and error lines:
// the character set and the length keep them harmless there.
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxLayers = 10000;

bool name_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '/'; }

void check_name_length(const JsonRef& r, const std::string& n, const std::string& what) {
  if (n.empty()) r.fail("{} name must not be empty", what);
  if (n.size() > kMaxNameLength)
    r.fail("{} name is {} characters long; at most {} are allowed", what, n.size(), kMaxNameLength);
}

std::string read_name(const JsonRef& r, const std::string& what) {
  std::string n = r.as_string();
  check_name_length(r, n, what);
  // The training graph adds the inputs "target" and "lr" and the output "loss".
  if (n == "target" || n == "lr" || n == "loss")
    r.fail("'{}' is reserved for training (the graph's target, learning rate and loss); choose another name", n);
  for (char ch : n)
    if (!name_char(ch))
      r.fail("{} name '{}' may only use letters, digits, '_', '-' and '/' ('.' separates a layer "
             "from its parameters)", what, clip(n));
  return n;
}

// The model's own name: the same characters, and '.' (it names no parameter).
std::string read_model_name(const JsonRef& root) {
  auto r = root.get("name");
  if (!r) return "model";
  std::string n = r->as_string();
  check_name_length(*r, n, "the model");
  for (char ch : n)
    if (!name_char(ch) && ch != '.')
      r->fail("the model name '{}' may only use letters, digits, '_', '-', '/' and '.'", clip(n));
  return n;
}

ir::DType read_dtype(const JsonRef& r) {
  ir::DType t;
  std::string s = r.as_string();
  if (!ir::parse_dtype(s, t) || !(t == ir::DType::f32 || t == ir::DType::i32 || t == ir::DType::i64))
    r.fail("unknown input dtype '{}'; use f32, i32 or i64", clip(s));
  return t;
}

ir::Shape read_shape(const JsonRef& r) {
  r.expect(json::Kind::Array);
  if (r.size() == 0) r.fail("an input shape needs at least one extent (the batch axis is implicit)");
  ir::Shape s;
  for (size_t i = 0; i < r.size(); i++) s.dims.push_back(r.at(i).as_positive_int());
  if (checked_numel(s) < 0) r.fail("the input is too large: more than {} elements per sample", kMaxElements);
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
    InputSpec in{read_name(r.require("name"), "an input"), ir::DType::f32, read_shape(r.require("shape"))};
    if (auto d = r.get("dtype")) in.dtype = read_dtype(*d);
    for (auto& o : out)
      if (o.name == in.name) r.require("name").fail("input name '{}' is used twice", in.name);
    out.push_back(in);
  }
  return out;
}

// The model's top level: an object, the members of its form, and a description string.
void check_root(const JsonRef& root) {
  if (!root.is(json::Kind::Object))
    root.fail("a model file must hold a JSON object (with 'input_shape' and 'layers'), {}", root.describe());
  bool graph = is_graph_form(root);
  if (graph && root.has("input_shape"))
    root.require("input_shape").fail("'input_shape' belongs to the sequential form; a graph-form model "
                                     "(one with 'inputs'/'outputs') gives each input's shape in 'inputs'");
  root.expect_only(graph ? kGraphKeys : kSequentialKeys, "a model");
  if (auto d = root.get("description")) d->as_string();
  auto layers = root.require("layers");
  layers.expect(json::Kind::Array);
  if (layers.size() == 0) layers.fail("a model needs at least one layer");
  // Checking costs ~60 us and ~4 KB per layer: the limit keeps `dlc check` of any file
  // under a second and its memory small (the deepest common networks have < 1,000).
  if (layers.size() > kMaxLayers)
    layers.fail("{} layers; a model may have at most {}", layers.size(), kMaxLayers);
}

// Expands the layer list into a graph, keeping what each name refers to.
class GraphBuilder {
public:
  GraphBuilder(const Model& model, int64_t batch) : root_(root_of(model.doc)) {
    graph_form_ = is_graph_form(root_);
    bm_.graph.name = model.name;
    bm_.graph.batch = batch;
    for (auto& in : model.inputs) {
      ir::Shape s = in.shape;
      s.dims.insert(s.dims.begin(), batch);
      ir::ValueId v = bm_.graph.add_input(in.name, ir::TensorType{in.dtype, s});
      producers_[in.name] = {v, in.name};
      defined_.push_back(in.name);
    }
  }

  BuiltModel build() {
    JsonRef layers = root_.require("layers");
    collect_explicit_names(layers);
    for (size_t i = 0; i < layers.size(); i++) add_layer(layers.at(i), i);
    bind_outputs();
    ir::verify(bm_.graph);
    return std::move(bm_);
  }

private:
  JsonRef root_;
  bool graph_form_ = false;
  BuiltModel bm_;
  std::map<std::string, Producer> producers_; // by input, layer or "<layer>.<extra output>" name
  std::map<std::string, size_t> layer_at_;    // index in bm_.layers by layer name
  std::vector<std::string> defined_;          // names defined so far, in order
  std::set<std::string> explicit_names_;      // every "name" written in the file
  std::map<std::string, int> type_count_;
  std::string last_;

  void collect_explicit_names(const JsonRef& layers) {
    for (size_t i = 0; i < layers.size(); i++)
      if (layers.at(i).is(json::Kind::Object))
        if (auto n = layers.at(i).get("name"); n && n->is(json::Kind::String))
          explicit_names_.insert(n->as_string());
  }

  const LayerDef& layer_def(const JsonRef& spec) {
    JsonRef type_ref = spec.require("type");
    std::string type = type_ref.as_string();
    const LayerDef* def = find_layer(type);
    if (!def) type_ref.fail("unknown layer type '{}'{}", clip(type), hint_or_list(type, layer_types()));
    if (!graph_form_ && spec.has("inputs"))
      spec.require("inputs").fail("a layer's 'inputs' belong to the graph form; a model that wires "
                                  "layers by name declares top-level 'inputs' and 'outputs'");
    std::vector<std::string> keys = def->keys;
    keys.insert(keys.end(), {"type", "name", "trainable"});
    if (graph_form_) keys.push_back("inputs");
    spec.expect_only(keys, "layer type '" + type + "'");
    return *def;
  }

  // An explicit name, or "<type>_<k>" counting layers of that type (Keras's scheme),
  // skipping names the file uses elsewhere.
  std::string layer_name(const JsonRef& spec, const std::string& type, size_t index) {
    if (auto n = spec.get("name")) {
      std::string name = read_name(*n, "a layer");
      if (producers_.count(name)) {
        bool input = bm_.graph.value(producers_.at(name).value).kind == ir::ValueKind::input;
        n->fail("name '{}' is used twice: it already names {}", name, input ? "a model input" : "an earlier layer");
      }
      return name;
    }
    if (graph_form_) spec.fail("layer {} has no 'name'; graph-form layers need one so others can read them", index);
    std::string name;
    do name = fmt::format("{}_{}", type, ++type_count_[type]);
    while (producers_.count(name) || explicit_names_.count(name));
    return name;
  }

  // For "<layer>.<name>" where the layer exists but has no output <name>: the outputs it has.
  std::string outputs_of(const std::string& n) const {
    size_t dot = n.find('.');
    auto it = dot == std::string::npos ? layer_at_.end() : layer_at_.find(n.substr(0, dot));
    if (it == layer_at_.end()) return "";
    const LayerInfo& l = bm_.layers[it->second];
    std::vector<std::string> names = {"'" + l.name + "'"};
    for (auto& [what, v] : l.extra_outputs) names.push_back("'" + l.name + "." + what + "'");
    if (names.size() > 1)
      return fmt::format("layer '{}' ({}) has {} outputs: {}", l.name, l.type, names.size(), join_names(names));
    const std::vector<std::string>& keys = find_layer(l.type)->keys;
    bool states = std::find(keys.begin(), keys.end(), "return_state") != keys.end();
    return fmt::format("layer '{}' ({}) has one output, '{}'{}", l.name, l.type, l.name,
                       states ? " (its final states are outputs too with \"return_state\": true)" : "");
  }

  Producer resolve(const JsonRef& at, const std::string& layer, const std::string& n) {
    auto it = producers_.find(n);
    if (it != producers_.end()) return it->second;
    if (std::string has = outputs_of(n); !has.empty()) at.fail("layer '{}' reads '{}', but {}", layer, clip(n), has);
    std::string base = n.substr(0, n.find('.')); // "enc" of "enc.h"
    if (base == layer) at.fail("layer '{}' reads its own output", layer);
    if (explicit_names_.count(base))
      at.fail("layer '{}' reads '{}', which is defined after it; list layers in order", layer, clip(n));
    at.fail("layer '{}' reads '{}', which is no input or earlier layer{}", layer, clip(n), hint_or_list(n, defined_));
  }

  std::vector<Producer> layer_inputs(const JsonRef& spec, const std::string& layer) {
    if (!graph_form_) return {producers_.at(last_.empty() ? defined_.front() : last_)};
    JsonRef in_ref = spec.require("inputs");
    if (in_ref.is(json::Kind::String)) return {resolve(in_ref, layer, in_ref.as_string())};
    in_ref.expect(json::Kind::Array);
    std::vector<Producer> ins;
    for (size_t j = 0; j < in_ref.size(); j++) ins.push_back(resolve(in_ref.at(j), layer, in_ref.at(j).as_string()));
    return ins;
  }

  void check_input_count(const JsonRef& spec, const LayerDef& def, const LayerInfo& info, int n_in) {
    if (n_in >= def.min_inputs && (def.max_inputs < 0 || n_in <= def.max_inputs)) return;
    if (!graph_form_)
      spec.fail("layer '{}' ({}) merges several inputs; use the graph form (\"inputs\"/\"outputs\")",
                info.name, info.type);
    std::string want = def.max_inputs < 0 ? fmt::format("at least {} inputs", def.min_inputs)
                                          : def.min_inputs == 1 ? "1 input" : fmt::format("{} inputs", def.min_inputs);
    spec.fail("layer '{}' ({}) takes {}, got {}", info.name, info.type, want, n_in);
  }

  void add_layer(const JsonRef& spec, size_t index) {
    spec.expect(json::Kind::Object);
    const LayerDef& def = layer_def(spec);
    LayerInfo info;
    info.type = def.type;
    info.name = layer_name(spec, def.type, index);
    std::vector<Producer> ins = layer_inputs(spec, info.name);
    check_input_count(spec, def, info, int(ins.size()));
    for (auto& p : ins) info.inputs.push_back(p.layer);
    LayerCtx ctx{bm_.graph, spec, info, ins};
    info.output = def.build(ctx);
    // "trainable": false (Keras's layer.trainable = False): the layer's parameters are
    // frozen. The training graph then computes no gradient for them and keeps no optimizer
    // state, and autodiff, which differentiates only what lies between a trainable
    // parameter and the loss, does no backward work below the lowest trainable layer.
    if (auto t = spec.get("trainable"); t && !t->as_bool())
      for (ir::ValueId p : info.params) bm_.graph.value(p).trainable = false;
    if (!ctx.mask_handled) info.mask = carried_mask(spec, def, info, ins);
    producers_[info.name] = {info.output, info.name, info.mask};
    defined_.push_back(info.name);
    add_extra_outputs(spec, info);
    layer_at_[info.name] = bm_.layers.size();
    last_ = info.name;
    bm_.layers.push_back(std::move(info));
  }

  // The mask of a layer's output when the layer did not decide it: none when no input has
  // one; the inputs' masks (all of them must hold: their product) for a layer that works
  // step by step and keeps the time axis; an error for any other layer.
  ir::ValueId carried_mask(const JsonRef& spec, const LayerDef& def, const LayerInfo& info,
                           const std::vector<Producer>& ins) {
    ir::ValueId mask = ir::kNoValue;
    const Producer* from = nullptr;
    for (const Producer& p : ins) {
      if (p.mask == ir::kNoValue) continue;
      if (!def.carries_mask)
        spec.fail("layer '{}' ({}) cannot take the mask that '{}' carries (from an embedding with mask_zero or a "
                  "masking layer); a mask is consumed by simple_rnn, lstm, gru and bidirectional, and carried "
                  "through layers that work step by step: {}",
                  info.name, info.type, p.layer, join_names(mask_carriers()));
      if (mask == ir::kNoValue) mask = p.mask, from = &p;
      else if (p.mask != mask)
        mask = bm_.graph.add("mul", {mask, p.mask}, {}, info.name + ".mask");
    }
    if (mask == ir::kNoValue) return mask;
    const ir::Shape& s = bm_.graph.type(info.output).shape;
    const ir::Shape& m = bm_.graph.type(mask).shape;
    if (s.rank() < 2 || s[0] != m[0] || s[1] != m[1])
      spec.fail("layer '{}' ({}) gives {}, which has no time axis of {} steps for the mask that '{}' carries",
                info.name, info.type, bm_.graph.type(info.output).str(), m[1], from->layer);
    return mask;
  }

  static std::vector<std::string> mask_carriers() {
    std::vector<std::string> names;
    for (const std::string& t : layer_types())
      if (find_layer(t)->carries_mask) names.push_back(t);
    return names;
  }

  // A layer's extra outputs are read by name ("enc.h"), which only the graph form can do.
  void add_extra_outputs(const JsonRef& spec, const LayerInfo& info) {
    if (info.extra_outputs.empty()) return;
    if (!graph_form_)
      spec.fail("layer '{}' ({}) returns its states as outputs of their own ('{}.{}'), which only the graph form's "
                "layers and outputs can read; use \"inputs\"/\"outputs\" or drop return_state",
                info.name, info.type, info.name, info.extra_outputs[0].first);
    for (auto& [what, v] : info.extra_outputs) {
      std::string n = info.name + "." + what;
      producers_[n] = {v, n};
      defined_.push_back(n);
    }
  }

  void bind_outputs() {
    if (!graph_form_) {
      bm_.graph.add_output(last_, producers_.at(last_).value, producers_.at(last_).mask);
      return;
    }
    JsonRef outs = root_.require("outputs");
    std::vector<JsonRef> refs;
    if (outs.is(json::Kind::String)) refs.push_back(outs);
    else {
      outs.expect(json::Kind::Array);
      if (outs.size() == 0) outs.fail("a model needs at least one output");
      for (size_t i = 0; i < outs.size(); i++) refs.push_back(outs.at(i));
    }
    std::set<std::string> seen;
    for (const JsonRef& r : refs) {
      std::string name = r.as_string();
      auto it = producers_.find(name);
      if (std::string has = outputs_of(name); it == producers_.end() && !has.empty())
        r.fail("output '{}' is none of its layer's outputs: {}", clip(name), has);
      if (it == producers_.end()) r.fail("output '{}' is no layer{}", clip(name), hint_or_list(name, defined_));
      if (!seen.insert(name).second) r.fail("output '{}' is listed twice", clip(name));
      bm_.graph.add_output(name, it->second.value, it->second.mask);
    }
  }
};

} // namespace

BuiltModel build_model(const Model& model, int64_t batch) {
  if (batch <= 0) throw Error(fmt::format("batch size must be positive, got {}", batch));
  return GraphBuilder(model, batch).build();
}

static Model model_from_doc(std::shared_ptr<JsonDoc> doc) {
  Model m;
  m.doc = std::move(doc);
  JsonRef root = root_of(m.doc);
  check_root(root);
  m.name = read_model_name(root);
  m.inputs = read_inputs(root);
  // Building once checks every layer and shape, and names the outputs.
  BuiltModel bm = build_model(m, 1);
  m.training = parse_training_spec(root, bm.graph);
  return m;
}

const std::string& Model::source_name() const {
  static const std::string none = "the model";
  return doc ? doc->file : none;
}

namespace {

bool is_keras(const JsonRef& root) {
  return root.is(json::Kind::Object) && root.has("class_name") && root.has("config") && !root.has("layers");
}

// Keras's own JSON (model.to_json()), already read by dlc's reader (its limits hold for
// any file): translated, then read as any dlc model; a normalisation axis is checked
// against the built model.
Model from_keras(const std::string& text, const std::string& name) {
  KerasModel k = keras_to_dlc(text, name);
  Model m = model_from_doc(parse_json_text(k.json, name + " (translated from Keras)"));
  BuiltModel b = build_model(m, 1);
  for (const auto& [layer, axis] : k.norm_axes)
    for (const LayerInfo& l : b.layers)
      if (l.name == layer && axis != b.graph.type(l.output).shape.rank() - 1)
        throw Error(fmt::format("{}: Keras model: layer '{}' normalises axis {}; dlc normalises the last axis ({} of its "
                                "input {})",
                                name, layer, axis, b.graph.type(l.output).shape.rank() - 1, b.graph.type(l.output).str()));
  return m;
}

} // namespace

Model load_model_text(const std::string& text, const std::string& name) {
  std::shared_ptr<JsonDoc> doc = parse_json_text(text, name);
  if (is_keras(root_of(doc))) return from_keras(text, name);
  return model_from_doc(doc);
}

Model model_of_onnx(const OnnxModel& o, const std::string& path) {
  Model m = model_from_doc(parse_json_text(o.json, path + " (translated from ONNX)"));
  m.weights = std::make_shared<const std::map<std::string, ir::Tensor>>(o.weights);
  return m;
}

Model with_training(Model m, std::shared_ptr<JsonDoc> doc) {
  JsonRef root = root_of(doc);
  root.expect(json::Kind::Object);
  root.expect_only({"loss", "loss_weights", "optimizer", "batch_size", "epochs", "metrics"},
                   "a training overlay (the model's layers stay in the model file)");
  m.training = parse_training_spec(root, build_model(m, 1).graph);
  return m;
}

Model load_model(const std::string& path) {
  if (is_onnx_path(path)) return model_of_onnx(onnx_to_dlc(read_file(path), path), path);
  std::shared_ptr<JsonDoc> doc = load_json_file(path);
  if (is_keras(root_of(doc))) return from_keras(read_file(path), path);
  return model_from_doc(doc);
}

} // namespace dlc::frontend
