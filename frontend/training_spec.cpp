// The training sections of a model file: loss, optimizer (with regularisers and the
// learning-rate schedule), batch size, epochs, metrics. Parsed and validated here; the
// training graph is built from them by passes/.
#include "frontend/json_reader.h"
#include "frontend/model.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace dlc::frontend {

namespace {

struct OptimizerDef {
  std::string type;
  std::vector<std::pair<std::string, double>> defaults; // the original papers' defaults
  double weight_decay = 0;                              // adamw: decoupled, Keras's default
};

// Keras's spellings of hyper-parameters, read as dlc's.
const std::vector<std::pair<std::string, std::string>> kAliases = {
    {"beta_1", "beta1"}, {"beta_2", "beta2"}, {"initial_accumulator_value", "initial_accumulator"}};

// Options that are switches (true/false), kept as 1/0 among the hyper-parameters.
bool is_switch(const std::string& k) { return k == "nesterov" || k == "centered" || k == "amsgrad"; }

const std::vector<OptimizerDef>& optimizer_table() {
  static const std::vector<OptimizerDef> t = {
      {"sgd", {{"lr", 0.01}, {"momentum", 0.0}, {"nesterov", 0}}},
      {"momentum", {{"lr", 0.01}, {"momentum", 0.9}}},
      {"nesterov", {{"lr", 0.01}, {"momentum", 0.9}}},
      {"adagrad", {{"lr", 0.01}, {"epsilon", 1e-10}, {"initial_accumulator", 0.0}}},
      {"rmsprop", {{"lr", 0.001}, {"rho", 0.9}, {"epsilon", 1e-8}, {"momentum", 0.0}, {"centered", 0}}},
      {"adadelta", {{"lr", 1.0}, {"rho", 0.95}, {"epsilon", 1e-6}}},
      {"adam", {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}, {"amsgrad", 0}}},
      {"adamw", {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}, {"amsgrad", 0}}, 0.004},
      {"nadam",
       {{"lr", 0.002}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}, {"momentum_decay", 0.004}}},
  };
  return t;
}

const std::vector<std::string> kLosses = {"mse", "categorical_crossentropy",
                                          "sparse_categorical_crossentropy", "binary_crossentropy"};

std::string canonical_loss(const std::string& s) {
  if (s == "mean_squared_error") return "mse";
  return s;
}

// "[26, 26, 10]": a type's shape without its batch axis.
std::string per_sample_shape(const ir::TensorType& t) {
  std::vector<int64_t> d(t.shape.dims.begin() + 1, t.shape.dims.end());
  return ir::Shape(d).str();
}

void fail_unknown(const JsonRef& r, const std::string& what, const std::string& name,
                  const std::vector<std::string>& known) {
  std::string hint = did_you_mean(name, known);
  r.fail("unknown {} '{}'{}", what, clip(name), hint.empty() ? "; known: " + join_names(known) : hint);
}

double positive(const JsonRef& r) {
  double v = r.as_number();
  if (!(v > 0)) r.fail("expected a positive number, {}", r.describe());
  return v;
}

double non_negative(const JsonRef& r) {
  double v = r.as_number();
  if (!(v >= 0)) r.fail("expected a number >= 0, {}", r.describe());
  return v;
}

double in_unit_interval(const JsonRef& r) {
  double v = r.as_number();
  if (!(v >= 0 && v < 1)) r.fail("expected a number in [0, 1), {}", r.describe());
  return v;
}

ScheduleSpec parse_schedule(const JsonRef& r) {
  ScheduleSpec s;
  std::optional<JsonRef> type_ref = r;
  if (r.is(json::Kind::Object)) type_ref = r.require("type");
  s.type = type_ref->as_string();
  // Each schedule with the members it takes.
  const std::vector<std::pair<std::string, std::vector<std::string>>> known = {
      {"constant", {"type", "warmup", "unit"}},
      {"inverse_sqrt", {"type", "unit", "warmup"}},
      {"inverse_time", {"type", "decay_rate", "decay_steps", "unit", "warmup"}},
      {"step", {"type", "step_size", "gamma", "unit", "warmup"}},
      {"exponential", {"type", "gamma", "unit", "warmup"}},
      {"cosine", {"type", "decay_steps", "alpha", "restarts", "t_mul", "m_mul", "unit", "warmup"}},
      {"piecewise", {"type", "boundaries", "values", "unit", "warmup"}}};
  const std::vector<std::string>* keys = nullptr;
  std::vector<std::string> names;
  for (auto& [name, k] : known) {
    names.push_back(name);
    if (name == s.type) keys = &k;
  }
  if (!keys) fail_unknown(*type_ref, "learning-rate schedule", s.type, names);
  if (!r.is(json::Kind::Object)) {
    if (s.type == "cosine") r.fail("schedule 'cosine' needs its period: {{\"type\": \"cosine\", \"decay_steps\": 10}}");
    if (s.type == "piecewise")
      r.fail("schedule 'piecewise' needs its rates: {{\"type\": \"piecewise\", \"boundaries\": [5], \"values\": [0.1, 0.01]}}");
    return s;
  }
  r.expect_only(*keys, "learning-rate schedule '" + s.type + "'");
  if (auto v = r.get("step_size")) s.step_size = double(v->as_positive_int());
  if (auto v = r.get("gamma")) {
    s.gamma = positive(*v);
    if (s.gamma > 1) v->fail("expected a decay factor in (0, 1], {}", v->describe());
  }
  if (auto v = r.get("unit")) {
    s.unit = v->as_string();
    if (s.unit != "epoch" && s.unit != "step") v->fail("expected \"epoch\" or \"step\", {}", v->describe());
  }
  if (auto v = r.get("warmup")) s.warmup = double(v->as_int());
  if (s.warmup < 0) r.require("warmup").fail("expected a number of epochs (or steps) >= 0, {}", r.require("warmup").describe());
  if (auto v = r.get("decay_rate")) s.decay_rate = positive(*v);
  if (s.type == "cosine") r.require("decay_steps");
  if (auto v = r.get("decay_steps")) s.decay_steps = double(v->as_positive_int());
  if (auto v = r.get("alpha")) s.alpha = in_unit_interval(*v);
  if (auto v = r.get("restarts")) s.restarts = v->as_bool();
  if (auto v = r.get("t_mul")) {
    s.t_mul = positive(*v);
    if (s.t_mul < 1) v->fail("expected a period factor >= 1, {}", v->describe());
  }
  if (auto v = r.get("m_mul")) {
    s.m_mul = positive(*v);
    if (s.m_mul > 1) v->fail("expected a height factor in (0, 1], {}", v->describe());
  }
  if (s.type == "piecewise") {
    JsonRef b = r.require("boundaries"), vals = r.require("values");
    b.expect(json::Kind::Array);
    vals.expect(json::Kind::Array);
    for (size_t i = 0; i < b.size(); i++) {
      s.boundaries.push_back(b.at(i).as_number());
      if (i > 0 && !(s.boundaries[i] > s.boundaries[i - 1]))
        b.at(i).fail("expected boundaries in increasing order, {}", b.at(i).describe());
    }
    for (size_t i = 0; i < vals.size(); i++) s.values.push_back(positive(vals.at(i)));
    if (s.values.size() != s.boundaries.size() + 1)
      vals.fail("expected {} rates (one more than the boundaries), got {}", s.boundaries.size() + 1, s.values.size());
  }
  return s;
}

const OptimizerDef* find_optimizer(const std::string& type) {
  for (auto& d : optimizer_table())
    if (d.type == type) return &d;
  return nullptr;
}

// An optimizer of `def`'s type with every hyper-parameter at its default.
OptimizerSpec default_optimizer(const OptimizerDef& def) {
  OptimizerSpec o;
  o.type = def.type;
  for (auto& [k, v] : def.defaults) o.hyper[k] = v;
  o.weight_decay = def.weight_decay;
  o.decoupled_weight_decay = def.weight_decay > 0;
  return o;
}

// The members every optimizer takes besides its hyper-parameters.
const std::vector<std::string> kCommonMembers = {"type", "learning_rate", "weight_decay", "weight_decay_mode",
                                                 "clip_norm", "clip_value", "schedule",
                                                 "reduce_on_plateau"};

// The members `def` takes: the common ones, its hyper-parameters and their Keras spellings.
std::vector<std::string> optimizer_members(const OptimizerDef& def) {
  std::vector<std::string> keys = kCommonMembers;
  for (auto& [k, v] : def.defaults) {
    keys.push_back(k);
    for (auto& [alias, name] : kAliases)
      if (name == k) keys.push_back(alias);
  }
  return keys;
}

// A member that this optimizer lacks but others have names the ones that have it
// ("'beta1' is an option of adam, adamw, nadam"); anything else gets expect_only's hint.
void check_members(const JsonRef& r, const OptimizerDef& def) {
  std::vector<std::string> mine = optimizer_members(def);
  for (const std::string& k : r.keys()) {
    if (std::find(mine.begin(), mine.end(), k) != mine.end()) continue;
    std::vector<std::string> owners;
    for (auto& other : optimizer_table()) {
      std::vector<std::string> theirs = optimizer_members(other);
      if (std::find(theirs.begin(), theirs.end(), k) != theirs.end()) owners.push_back(other.type);
    }
    if (!owners.empty())
      r.require(k).fail("optimizer '{}' has no option '{}': it is an option of {}", def.type, k, join_names(owners));
  }
  r.expect_only(mine, "optimizer '" + def.type + "'");
}

OptimizerSpec parse_optimizer(const JsonRef& r) {
  std::optional<JsonRef> type_ref = r;
  if (r.is(json::Kind::Object)) type_ref = r.require("type");
  std::string type = type_ref->as_string();
  const OptimizerDef* def = find_optimizer(type);
  if (!def) fail_unknown(*type_ref, "optimizer", type, optimizer_names());
  OptimizerSpec o = default_optimizer(*def);
  if (!r.is(json::Kind::Object)) return o;

  check_members(r, *def);
  // One spelling per value: lr or learning_rate, beta1 or beta_1.
  std::vector<std::pair<std::string, std::string>> spellings = kAliases;
  spellings.push_back({"learning_rate", "lr"});
  for (auto& [alias, name] : spellings)
    if (r.has(alias) && r.has(name))
      r.require(alias).fail("give {} once: '{}' and '{}' are the same", name == "lr" ? "the learning rate" : "'" + name + "'",
                            name, alias);
  for (auto& [k, v] : def->defaults) {
    auto m = r.get(k);
    for (auto& [alias, name] : spellings)
      if (!m && name == k) m = r.get(alias);
    if (!m) continue;
    if (is_switch(k)) o.hyper[k] = m->as_bool() ? 1 : 0;
    else if (k == "lr" || k == "epsilon") o.hyper[k] = positive(*m);
    else if (k == "initial_accumulator" || k == "momentum_decay") o.hyper[k] = non_negative(*m);
    else o.hyper[k] = in_unit_interval(*m); // momentum, rho, beta1, beta2
  }
  if (type == "sgd" && o.hyper["nesterov"] != 0 && !(o.hyper["momentum"] > 0))
    r.require("nesterov").fail("nesterov needs a momentum > 0 (as \"momentum\": 0.9)");
  if (auto m = r.get("weight_decay")) o.weight_decay = non_negative(*m);
  if (auto m = r.get("weight_decay_mode")) {
    std::string mode = m->as_string();
    if (mode != "coupled" && mode != "decoupled")
      m->fail("expected \"coupled\" or \"decoupled\", {}", m->describe());
    if (type == "adamw" && mode == "coupled")
      m->fail("adamw's weight decay is decoupled; for the coupled (L2) form use \"adam\" with \"weight_decay\"");
    o.decoupled_weight_decay = mode == "decoupled";
  }
  if (type == "adamw") o.decoupled_weight_decay = o.weight_decay > 0;
  if (auto m = r.get("clip_norm")) o.clip_norm = positive(*m);
  if (auto m = r.get("clip_value")) o.clip_value = positive(*m);
  if (auto m = r.get("schedule")) o.schedule = parse_schedule(*m);
  return o;
}

// Keras's spellings of the metrics, read as dlc's names.
const std::vector<std::pair<std::string, std::string>> kMetricAliases = {
    {"acc", "accuracy"},
    {"top_k_accuracy", "top_k_categorical_accuracy"},
    {"mean_squared_error", "mse"},
    {"mean_absolute_error", "mae"}};

const std::vector<std::string> kMetrics = {"accuracy", "top_k_categorical_accuracy", "mse", "mae",
                                           "precision", "recall", "auc", "loss"};

// A metric: a name, or {"type": "top_k_categorical_accuracy", "k": 5}. "loss" is always
// reported and is accepted as a no-op (Keras lists it too): nullopt.
std::optional<MetricSpec> parse_metric(const JsonRef& m) {
  JsonRef type_ref = m.is(json::Kind::Object) ? m.require("type") : m;
  MetricSpec spec;
  spec.name = type_ref.as_string();
  for (auto& [alias, name] : kMetricAliases)
    if (spec.name == alias) spec.name = name;
  std::vector<std::string> known = kMetrics;
  for (auto& a : kMetricAliases) known.push_back(a.first);
  if (std::find(kMetrics.begin(), kMetrics.end(), spec.name) == kMetrics.end())
    fail_unknown(type_ref, "metric", spec.name, known);
  spec.location = m.location();
  if (m.is(json::Kind::Object)) {
    bool top_k = spec.name == "top_k_categorical_accuracy";
    m.expect_only(top_k ? std::vector<std::string>{"type", "k"} : std::vector<std::string>{"type"},
                  "metric '" + type_ref.as_string() + "'");
    if (auto k = m.get("k")) spec.k = k->as_positive_int();
  }
  if (spec.name == "loss") return std::nullopt;
  return spec;
}

// Metrics where larger is better (reduce_on_plateau's "auto" mode).
// A metric of one output of several ("digit_mae") goes by its own name.
bool larger_is_better(const std::string& metric) {
  for (const char* smaller : {"mse", "mae", "loss"}) {
    size_t k = std::strlen(smaller);
    if (metric == smaller || (metric.size() > k && metric.compare(metric.size() - k - 1, k + 1, std::string("_") + smaller) == 0))
      return false;
  }
  return true;
}

PlateauSpec parse_plateau(const JsonRef& r, const TrainingSpec& spec) {
  PlateauSpec p;
  p.enabled = true;
  r.expect(json::Kind::Object);
  r.expect_only({"monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr"}, "reduce_on_plateau");
  std::string mode = "auto";
  if (auto v = r.get("monitor")) {
    p.monitor = v->as_string();
    for (auto& [alias, name] : kMetricAliases) {
      if (p.monitor == alias) p.monitor = name;
      if (p.monitor == "val_" + alias) p.monitor = "val_" + name;
    }
    std::vector<std::string> known = {"loss", "val_loss"};
    for (auto& m : ir::metric_names(spec)) known.push_back(m), known.push_back("val_" + m);
    if (std::find(known.begin(), known.end(), p.monitor) == known.end())
      v->fail("reduce_on_plateau cannot monitor '{}': it watches the loss or a metric the model lists; known: {}",
              clip(v->as_string()), join_names(known));
  }
  if (auto v = r.get("mode")) {
    mode = v->as_string();
    if (mode != "auto" && mode != "min" && mode != "max")
      v->fail("expected \"auto\", \"min\" or \"max\", {}", v->describe());
  }
  std::string metric = p.monitor.rfind("val_", 0) == 0 ? p.monitor.substr(4) : p.monitor;
  p.maximize = mode == "max" || (mode == "auto" && larger_is_better(metric));
  if (auto v = r.get("factor")) {
    p.factor = positive(*v);
    if (p.factor >= 1) v->fail("expected a factor in (0, 1), {}", v->describe());
  }
  if (auto v = r.get("patience")) p.patience = v->as_int();
  if (p.patience < 0) r.require("patience").fail("expected a number of epochs >= 0, {}", r.require("patience").describe());
  if (auto v = r.get("min_delta")) p.min_delta = non_negative(*v);
  if (auto v = r.get("cooldown")) p.cooldown = v->as_int();
  if (p.cooldown < 0) r.require("cooldown").fail("expected a number of epochs >= 0, {}", r.require("cooldown").describe());
  if (auto v = r.get("min_lr")) p.min_lr = non_negative(*v);
  p.location = r.location();
  return p;
}

} // namespace

std::vector<std::string> loss_names() { return kLosses; }

std::vector<std::string> optimizer_names() {
  std::vector<std::string> n;
  for (auto& d : optimizer_table()) n.push_back(d.type);
  return n;
}

// Reads loss, optimizer, batch_size, epochs and metrics from the model's root object, and
// checks the loss and the metrics against the output they apply to (`forward` is the
// model built at batch 1).
TrainingSpec parse_training_spec(const JsonRef& root, const ir::Graph& forward) {
  TrainingSpec t;
  std::vector<std::string> outputs;
  for (auto& o : forward.outputs()) outputs.push_back(o.name);
  auto output_type = [&](const std::string& name) {
    for (auto& o : forward.outputs())
      if (o.name == name) return forward.type(o.value);
    return forward.type(forward.outputs().front().value);
  };
  auto known_output = [&](const JsonRef& where, const std::string& name) {
    for (auto& n : outputs)
      if (n == name) return;
    fail_unknown(where, "output", name, outputs);
  };
  // One loss: its type as a string on the first output, or an object {type, output}.
  auto parse_loss = [&](const JsonRef& type_ref, const std::string& output) {
    ir::LossSpec l;
    l.output = output;
    l.type = canonical_loss(type_ref.as_string());
    bool ok = false;
    for (auto& k : kLosses) ok |= k == l.type;
    if (!ok) fail_unknown(type_ref, "loss", l.type, kLosses);
    ir::TensorType out = output_type(l.output);
    std::string why = ir::loss_misfit(l.type, out);
    if (!why.empty())
      type_ref.fail("loss '{}' does not fit output '{}' of shape {} per sample: {}", l.type, l.output,
                    per_sample_shape(out), why);
    return l;
  };
  std::optional<JsonRef> loss_ref = root.get("loss");
  if (loss_ref) {
    const JsonRef& r = *loss_ref;
    bool output_named_type = false;
    for (auto& n : outputs) output_named_type |= n == "type";
    if (r.is(json::Kind::Object) && (!r.get("type") || output_named_type)) {
      // Keras's loss dict: {"output": "loss type", ...}, kept in the model's output order.
      std::vector<std::string> keys = r.keys();
      if (keys.empty()) r.fail("an empty loss: name at least one output and its loss");
      for (const std::string& k : keys) known_output(r, k);
      for (const std::string& o : outputs)
        if (auto e = r.get(o)) t.losses.push_back(parse_loss(*e, o));
    } else if (r.is(json::Kind::Object)) {
      r.expect_only({"type", "output", "from_logits"}, "a loss");
      std::string output = outputs.front();
      if (auto o = r.get("output")) {
        output = o->as_string();
        known_output(*o, output);
      }
      t.losses.push_back(parse_loss(r.require("type"), output));
      if (auto f = r.get("from_logits")) {
        t.losses.back().from_logits = f->as_bool();
        if (t.losses.back().from_logits && t.losses.back().type == "mse")
          f->fail("from_logits: mse compares the output itself (from_logits is for the cross-entropies)");
      }
    } else {
      t.losses.push_back(parse_loss(r, outputs.front()));
    }
    t.has_loss = true;
  }
  if (auto w = root.get("loss_weights")) {
    if (!t.has_loss) w->fail("loss_weights without a loss");
    w->expect(json::Kind::Object);
    for (const std::string& k : w->keys()) {
      known_output(*w, k);
      JsonRef v = w->require(k);
      double weight = v.as_number();
      if (!(weight >= 0) || !std::isfinite(weight)) v.fail("a loss weight must be a finite number >= 0, got {}", weight);
      bool found = false;
      for (ir::LossSpec& l : t.losses)
        if (l.output == k) {
          l.weight = weight;
          found = true;
        }
      if (!found) v.fail("output '{}' has no loss to weight (\"loss\" names the trained outputs)", k);
    }
  }
  if (auto r = root.get("metrics")) {
    r->expect(json::Kind::Array);
    for (size_t i = 0; i < r->size(); i++) {
      std::optional<MetricSpec> m = parse_metric(r->at(i));
      if (!m) continue;
      bool twice = false;
      for (auto& other : t.metrics) twice |= other.name == m->name;
      if (twice) r->at(i).fail("metric '{}' is listed twice", m->name);
      if (!t.has_loss) r->at(i).fail("metrics are reported in training and evaluation: the model needs a 'loss'");
      for (const ir::LossSpec& l : t.losses) { // every trained output reports every metric
        ir::TensorType out = output_type(l.output);
        std::string why = ir::metric_misfit(*m, out);
        if (!why.empty())
          r->at(i).fail("metric '{}' does not fit output '{}' of shape {} per sample: {}", m->name, l.output,
                        per_sample_shape(out), why);
      }
      t.metrics.push_back(*m);
    }
  }
  // Without an optimizer section: SGD with its defaults (every hyper-parameter set).
  auto opt = root.get("optimizer");
  t.optimizer = opt ? parse_optimizer(*opt) : default_optimizer(*find_optimizer("sgd"));
  if (opt && opt->is(json::Kind::Object))
    if (auto p = opt->get("reduce_on_plateau")) t.optimizer.plateau = parse_plateau(*p, t);
  if (auto r = root.get("batch_size")) t.batch_size = r->as_positive_int();
  if (auto r = root.get("epochs")) t.epochs = r->as_positive_int();
  return t;
}

} // namespace dlc::frontend
