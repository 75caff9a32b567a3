// The training graph: forward + loss + backward + optimizer update (docs/autodiff.md).
//
// The loss is chosen from the spec and from what produces the output it applies to:
//   softmax(z) or log_softmax(z) + categorical CE  -> softmax_cross_entropy(z, target)
//   softmax(z) or log_softmax(z) + sparse CE       -> sparse_softmax_cross_entropy(z, labels)
//   sigmoid(z) + binary CE                          -> sigmoid_binary_cross_entropy(z, target)
// so that the gradient reaching z is softmax(z) - y (σ(z) - y) and log-sum-exp keeps the
// loss finite for any logits. Other outputs get the plain loss on the output itself
// (categorical CE of probabilities clamped to [1e-7, 1 - 1e-7], as Keras computes it).
#include "passes/training.h"

#include "passes/cleanup/cleanup.h"
#include "passes/rewrite.h"

#include "ir/verifier.h"
#include "passes/autodiff.h"

#include <fmt/format.h>

#include <algorithm>

namespace dlc::passes {

using ir::Graph;
using ir::kNoValue;
using ir::TensorType;
using ir::ValueId;

namespace {

const double kProbEps = 1e-7; // the clamp of binary_cross_entropy (ir/ops/loss.cpp)

struct LossSite {
  std::string output; // its name
  ValueId value;      // the model output
  ValueId logits;     // the operand of its softmax / log_softmax / sigmoid, or kNoValue
  std::string head;   // "softmax" (also for log_softmax), "sigmoid" or ""
  ValueId mask;       // the output's mask [batch, T], or kNoValue
};

LossSite find_site(const Graph& g, const ir::LossSpec& loss) {
  LossSite s{loss.output, kNoValue, kNoValue, "", kNoValue};
  for (auto& o : g.outputs())
    if (o.name == loss.output || (loss.output.empty() && s.value == kNoValue)) {
      s.output = o.name;
      s.value = o.value;
      s.mask = o.mask;
    }
  if (s.value == kNoValue)
    throw Error(fmt::format("the loss applies to output '{}', which the model does not have", loss.output));
  if (loss.from_logits) { // the output is the logits the fused loss takes
    s.logits = s.value;
    s.head = loss.type == "binary_crossentropy" ? "sigmoid" : "softmax";
    return s;
  }
  const ir::Value& v = g.value(s.value);
  if (v.kind != ir::ValueKind::result) return s;
  const ir::Node& n = g.node(v.node);
  const std::string& op = n.op->name;
  int rank = v.type.shape.rank();
  int64_t axis = n.attrs.get_int("axis", -1);
  if ((op == "softmax" || op == "log_softmax") && (axis == -1 || axis == rank - 1)) s.head = "softmax";
  if (op == "sigmoid") s.head = "sigmoid";
  if (!s.head.empty()) s.logits = n.operands[0];
  return s;
}

// Rejects a loss that cannot apply to the output's type (ir::loss_misfit, which model
// loading applies first with the loss's location in the file).
void check_fit(const Graph& g, const LossSite& s, const std::string& loss) {
  const TensorType& t = g.type(s.value);
  std::string why = ir::loss_misfit(loss, t);
  if (!why.empty()) throw Error(fmt::format("loss '{}' does not fit output '{}' {}: {}", loss, s.output, t.str(), why));
}

// Per-step classification: a categorical loss on [batch, T, classes] sees the rows of
// every step, [batch * T, classes] (a view), and is the mean over the batch * T
// positions; its target is reshaped alike ([batch, T] labels -> [batch * T]).
// `labels`: v holds a class id per position ([batch, T] -> [batch * T]).
ValueId to_rows(Graph& g, ValueId v, int64_t rows, bool labels, const std::string& name) {
  std::vector<int64_t> shape = {rows};
  const ir::Shape& s = g.type(v).shape;
  if (!labels) shape.push_back(s[s.rank() - 1]);
  return g.add("reshape", {v}, {{"shape", shape}}, name);
}

// -sum(y * log(clamp(p / sum(p)))) / batch: categorical cross-entropy of probabilities.
// As Keras (from_logits=False), each row of p is first divided by its sum, so an output
// that is not a softmax (sigmoid units, a linear layer) is read as a distribution.
ValueId cross_entropy_of_probabilities(Graph& g, ValueId p, ValueId y, const std::string& pre) {
  auto scalar = [&](const std::string& name, double v) {
    return g.add_constant(name, ir::TensorType{ir::DType::f32, ir::Shape{}}, {float(v)});
  };
  int last = g.type(p).shape.rank() - 1;
  ValueId total = g.add("reduce_sum", {p}, {{"axes", std::vector<int64_t>{last}}, {"keepdims", true}}, pre + ".row_sum");
  ValueId q = g.add("div", {p, total}, {}, pre + ".normalized");
  q = g.add("maximum", {q, scalar(pre + ".eps", kProbEps)}, {}, pre + ".clamp_low");
  q = g.add("minimum", {q, scalar(pre + ".one_minus_eps", 1 - kProbEps)}, {}, pre + ".clamp_high");
  ValueId ylogq = g.add("mul", {g.add("log", {q}, {}, pre + ".log"), y}, {}, pre + ".ylogp");
  double batch = double(g.type(p).shape[0]);
  return g.add("scale", {g.add("reduce_sum", {ylogq}, {}, pre + ".sum")}, {{"scale", -1.0 / batch}}, pre);
}

ValueId append_loss(Graph& g, const LossSite& s, const std::string& loss, ValueId target, const std::string& pre) {
  bool softmax = s.head == "softmax", sigmoid = s.head == "sigmoid";
  if (loss == "categorical_crossentropy")
    return softmax ? g.add("softmax_cross_entropy", {s.logits, target}, {}, pre)
                   : cross_entropy_of_probabilities(g, s.value, target, pre);
  if (loss == "sparse_categorical_crossentropy") {
    if (softmax) return g.add("sparse_softmax_cross_entropy", {s.logits, target}, {}, pre);
    ValueId onehot = g.add("one_hot", {target}, {{"depth", g.type(s.value).shape[1]}}, pre + ".one_hot");
    return cross_entropy_of_probabilities(g, s.value, onehot, pre);
  }
  if (loss == "binary_crossentropy")
    return sigmoid ? g.add("sigmoid_binary_cross_entropy", {s.logits, target}, {}, pre)
                   : g.add("binary_cross_entropy", {s.value, target}, {}, pre);
  if (loss == "mse") return g.add("mse", {s.value, target}, {}, pre);
  throw Error(fmt::format("unknown loss '{}'", loss));
}

// The loss of an output with a mask: the mean over the real steps only. Each loss op is
// applied as it is, to inputs in which the padded steps contribute nothing -- targets and
// predictions (or logits) multiplied by the step's mask, so that a padded step's term and
// its gradient are 0 (sigmoid logits are moved to -100 there, whose term log(1 + e^-100)
// is below f32's resolution; binary cross-entropy of probabilities leaves the clamp's
// -log(1 - 1e-7) per padded element) -- and the op's mean over all steps is divided by
// the fraction of real steps, mean(mask) (at least one step's worth, so that an all-padded
// batch has loss 0 rather than 0/0).
ValueId append_masked_loss(Graph& g, LossSite s, const std::string& loss, ValueId t, const std::string& pre) {
  const ir::Shape out = g.type(s.value).shape;
  std::vector<int64_t> per_step(size_t(out.rank()), 1);
  per_step[0] = out[0];
  per_step[1] = out[1];
  ValueId m = g.add("reshape", {s.mask}, {{"shape", per_step}}, pre + ".step_mask");
  auto masked = [&](ValueId v, const std::string& name) { return g.add("mul", {v, m}, {}, name); };
  if (loss == "sparse_categorical_crossentropy")
    t = g.add("one_hot", {t}, {{"depth", out[out.rank() - 1]}}, pre + ".one_hot");
  t = masked(t, pre + ".masked_target");
  ValueId all;
  if (loss == "categorical_crossentropy" || loss == "sparse_categorical_crossentropy") {
    int64_t rows = out[0] * out[1];
    t = to_rows(g, t, rows, false, pre + ".target_rows");
    all = s.head == "softmax"
              ? g.add("softmax_cross_entropy",
                      {to_rows(g, masked(s.logits, pre + ".masked_logits"), rows, false, pre + ".logit_rows"), t}, {},
                      pre + ".all_steps")
              : cross_entropy_of_probabilities(g, to_rows(g, s.value, rows, false, pre + ".rows"), t, pre);
  } else if (loss == "binary_crossentropy" && s.head == "sigmoid") {
    ValueId away = g.add("scale", {m}, {{"scale", 100.0}, {"offset", -100.0}}, pre + ".padding_logit");
    all = g.add("sigmoid_binary_cross_entropy", {g.add("add", {masked(s.logits, pre + ".masked_logits"), away}, {},
                                                       pre + ".logits_or_padding"), t},
                {}, pre + ".all_steps");
  } else if (loss == "binary_crossentropy") {
    all = g.add("binary_cross_entropy", {masked(s.value, pre + ".masked_output"), t}, {}, pre + ".all_steps");
  } else if (loss == "mse") {
    all = g.add("mse", {masked(s.value, pre + ".masked_output"), t}, {}, pre + ".all_steps");
  } else {
    throw Error(fmt::format("unknown loss '{}'", loss));
  }
  ValueId real = g.add("reduce_mean", {s.mask}, {}, pre + ".real_fraction");
  ValueId floor = g.add_constant(pre + ".one_step", TensorType{ir::DType::f32, ir::Shape{}}, {float(1.0 / double(out[0] * out[1]))});
  return g.add("div", {all, g.add("maximum", {real, floor}, {}, pre + ".real_fraction_floor")}, {}, pre);
}

// A forward graph's update of graph state (a stateful recurrent layer's carried state)
// happens in every phase; one of a param (batch normalisation's statistics) in training.
bool every_phase(const Graph& g, const Graph::Update& u) { return g.value(u.target).kind == ir::ValueKind::state; }

} // namespace

Graph specialize_phase(const Graph& forward, bool training) {
  bool any = false;
  for (const ir::Node& n : forward.nodes()) any |= n.op->name == "phase_select";
  for (auto& u : forward.updates()) any |= !training && !every_phase(forward, u);
  if (!any) return forward;
  GraphRewriter rw(forward);
  for (size_t i = 0; i < forward.nodes().size(); i++) {
    const ir::Node& n = forward.nodes()[i];
    if (n.op->name == "phase_select") rw.replace(n.results[0], rw.map(n.operands[training ? 0 : 1]));
    else rw.copy_node(int(i));
  }
  Graph g = rw.finish(false);
  for (auto& o : forward.outputs()) g.add_output(o.name, rw.map(o.value), o.mask == kNoValue ? o.mask : rw.map(o.mask));
  for (auto& u : forward.updates())
    if (training || every_phase(forward, u)) g.add_update(rw.map(u.target), rw.map(u.value));
  return eliminate_dead_code(g); // the other phase's values
}

namespace {

// The loss of one trained output, on target input `target_name`, its values named `pre`.
// Sets `mask` when the output has one.
ValueId append_output_loss(Graph& g, const ir::LossSpec& spec, const std::string& target_name, const std::string& pre,
                           ValueId& target_id, ValueId& mask) {
  LossSite site = find_site(g, spec);
  const std::string& loss = spec.type;
  check_fit(g, site, loss);
  const TensorType out = g.type(site.value);
  bool sparse = loss == "sparse_categorical_crossentropy";
  bool per_step = out.shape.rank() == 3 && (sparse || loss == "categorical_crossentropy");
  TensorType target = out;
  // Sparse labels are i32 for the fused softmax loss; an output without a softmax head
  // one-hot encodes them in the graph (one_hot of f32 ids, which every backend lowers).
  // A masked output one-hot encodes them too (append_masked_loss).
  ir::DType label_type = site.head == "softmax" && site.mask == kNoValue ? ir::DType::i32 : ir::DType::f32;
  if (sparse) target = TensorType{label_type, per_step ? ir::Shape{out.shape[0], out.shape[1]} : ir::Shape{out.shape[0]}};
  target_id = g.add_input(target_name, target);
  ValueId t = target_id;
  mask = site.mask;
  if (site.mask != kNoValue) return append_masked_loss(g, site, loss, t, pre);
  if (per_step) {
    int64_t rows = out.shape[0] * out.shape[1];
    if (site.logits != kNoValue) site.logits = to_rows(g, site.logits, rows, false, pre + ".logit_rows");
    else site.value = to_rows(g, site.value, rows, false, pre + ".rows");
    t = to_rows(g, t, rows, sparse, pre + ".target_rows");
  }
  return append_loss(g, site, loss, t, pre);
}

} // namespace

std::string target_name(const ir::TrainingSpec& spec, size_t i) {
  return spec.losses.size() == 1 ? "target" : "target." + spec.losses.at(i).output;
}

TrainingGraph build_loss_graph(const Graph& forward, const ir::TrainingSpec& spec, bool training) {
  if (!spec.has_loss || spec.losses.empty())
    throw Error("the model has no 'loss'; training needs one (e.g. \"loss\": \"categorical_crossentropy\")");
  TrainingGraph tg;
  tg.graph = specialize_phase(forward, training);
  Graph& g = tg.graph;
  // The total is sum_i weight_i * loss_i (Keras's loss dict and loss_weights; one loss is
  // scaled by its weight too). With several losses each loss_i is also an output
  // "loss.<output>" (the history's "<output>_loss"); one loss is named "loss" itself.
  bool several = spec.losses.size() > 1;
  for (size_t i = 0; i < spec.losses.size(); i++) {
    const ir::LossSpec& l = spec.losses[i];
    std::string pre = several ? "loss." + l.output : "loss";
    ValueId target = kNoValue, mask = kNoValue;
    ValueId part = append_output_loss(g, l, target_name(spec, i), pre, target, mask);
    tg.targets.push_back(target);
    if (mask != kNoValue && several)
      throw Error(fmt::format("output '{}' carries a mask, which a model with several losses does not support (one "
                              "masked output per model: train it alone)",
                              l.output));
    if (mask != kNoValue) {
      tg.mask = mask;
      g.add_output("loss_mask", mask); // for the metrics, which skip padded steps too
    }
    if (several) {
      tg.parts.push_back(part);
      g.add_output(pre, part);
    }
    ValueId term = l.weight == 1 ? part : g.add("scale", {part}, {{"scale", l.weight}}, pre + ".weighted");
    tg.loss = tg.loss == kNoValue ? term : g.add("add", {tg.loss, term}, {}, "loss.sum_" + l.output);
  }
  // Regularizers (Keras semantics): l1·Σ|w| + l2·Σw² of each parameter that has one is
  // part of the loss, reported with it and differentiated with it; their sum is also
  // output "regularization_loss" (the history's part).
  ValueId reg = kNoValue;
  for (ValueId p : std::vector<ValueId>(g.params())) { // a copy: g grows below
    const ir::Value& v = g.value(p);
    std::string name = v.name;
    double l1 = v.l1, l2 = v.l2;
    auto add_term = [&](const char* op, double weight, const char* what) {
      ValueId sum = g.add("reduce_sum", {g.add(op, {p}, {}, name + "." + what)}, {}, name + "." + what + "_sum");
      ValueId term = g.add("scale", {sum}, {{"scale", weight}}, name + "." + what + "_penalty");
      reg = reg == kNoValue ? term : g.add("add", {reg, term}, {}, name + "." + what + "_regularization");
    };
    if (l1 > 0) add_term("abs", l1, "l1");
    if (l2 > 0) add_term("square", l2, "l2");
  }
  if (reg != kNoValue) {
    tg.loss = g.add("add", {tg.loss, reg}, {}, "loss.with_regularization");
    tg.regularization = reg;
    g.add_output("regularization_loss", reg);
  }
  g.add_output("loss", tg.loss);
  return tg;
}

std::vector<std::string> loss_part_names(const Graph& forward, const ir::TrainingSpec& spec) {
  std::vector<std::string> names;
  if (spec.losses.size() > 1)
    for (const ir::LossSpec& l : spec.losses) names.push_back(l.output + "_loss");
  for (ValueId p : forward.params())
    if (forward.value(p).l1 > 0 || forward.value(p).l2 > 0) {
      names.push_back("regularization_loss");
      break;
    }
  return names;
}

std::string input_grad_name(const std::string& input) { return input + ".grad"; }

TrainingGraph build_input_gradient_graph(const Graph& forward, const ir::TrainingSpec& spec) {
  TrainingGraph tg = build_loss_graph(forward, spec, false);
  Graph& g = tg.graph;
  // Token ids (read by an embedding's lookup or one_hot) have no gradient: theirs is zero.
  auto token_ids = [&](ValueId in) {
    for (const ir::Node& n : g.nodes())
      if ((n.op->name == "embedding_lookup" || n.op->name == "one_hot") && !n.operands.empty() && n.operands[0] == in)
        return true;
    return false;
  };
  std::vector<ValueId> inputs, wrt;
  for (ValueId in : forward.inputs()) {
    ValueId v = g.find(forward.value(in).name);
    if (g.type(v).dtype != ir::DType::f32) continue;
    inputs.push_back(v);
    if (!token_ids(v)) wrt.push_back(v);
  }
  std::vector<ValueId> grads = differentiate(g, tg.loss, wrt);
  for (ValueId in : inputs) {
    auto at = std::find(wrt.begin(), wrt.end(), in);
    ValueId grad = at == wrt.end() ? kNoValue : grads[size_t(at - wrt.begin())];
    // Token ids, or an input the loss does not depend on (it feeds only other outputs): zero.
    if (grad == kNoValue) grad = g.add("scale", {in}, {{"scale", 0.0}}, input_grad_name(g.value(in).name) + ".zero");
    tg.input_grads.push_back(grad);
    g.add_output(input_grad_name(g.value(in).name), grad);
  }
  ir::verify(g);
  return tg;
}

TrainingGraph build_training_graph(const Graph& forward, const ir::TrainingSpec& spec) {
  TrainingGraph tg = build_loss_graph(forward, spec, true);
  Graph& g = tg.graph;
  tg.lr = g.add_input("lr", TensorType{ir::DType::f32, ir::Shape{}});
  std::vector<ValueId> params;
  for (ValueId p : g.params())
    if (g.value(p).trainable) params.push_back(p);
  std::vector<ValueId> grads = differentiate(g, tg.loss, params);
  // A parameter with no path to the loss (it feeds only other outputs) gets no gradient
  // and is left unchanged by the optimizer.
  for (size_t i = 0; i < params.size(); i++)
    if (grads[i] != kNoValue) tg.grads.push_back({params[i], grads[i]});
  append_optimizer(g, spec.optimizer, tg.grads, tg.lr);
  ir::verify(g);
  return tg;
}

} // namespace dlc::passes
