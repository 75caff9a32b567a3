// The optimizer part of the training graph (docs/training.md): gradient clipping by
// global norm, then one fused update op per parameter (ir/ops/optimizer_ops.cpp) that
// also clips by value and applies weight decay. The optimizer's state is persistent graph
// state named "<param>.<slot>" ("dense_1.kernel.m"), plus "opt.step" (the number of steps
// taken) for Adam and Nadam and "opt.mu_product" for Nadam, so a checkpoint of params and
// state resumes a run exactly.
#include "passes/training.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>

namespace dlc::passes {

using ir::Graph;
using ir::kNoValue;
using ir::ValueId;

namespace {

// The optimizer's hyper-parameter `key`, or `dflt` where the spec does not set it (the
// options Keras adds to an optimizer: sgd's momentum and nesterov, rmsprop's momentum and
// centered, adam's amsgrad).
double option(const ir::OptimizerSpec& opt, const std::string& key, double dflt = 0) {
  auto it = opt.hyper.find(key);
  return it == opt.hyper.end() ? dflt : it->second;
}

// The update op that implements an optimizer of the model format with its options. What
// the op takes (state slots, per-step scalars, hyper-parameters) is its layout in the op table.
struct OptimizerDef {
  std::string op;
  bool nesterov = false;
  const ir::UpdateLayout& layout() const { return *ir::get_op(op).update; }
};

const std::vector<std::string>& optimizer_types() {
  static const std::vector<std::string> t = {"sgd",     "momentum", "nesterov", "adagrad", "rmsprop",
                                             "adadelta", "adam",    "adamw",    "nadam"};
  return t;
}

OptimizerDef find_def(const ir::OptimizerSpec& opt) {
  const std::string& type = opt.type;
  if (std::find(optimizer_types().begin(), optimizer_types().end(), type) == optimizer_types().end()) {
    std::string hint = did_you_mean(type, optimizer_types());
    throw Error(fmt::format("unknown optimizer '{}'{}", type, hint.empty() ? "; known: " + join_names(optimizer_types()) : hint));
  }
  if (type == "sgd") {
    bool nesterov = option(opt, "nesterov") != 0;
    if (nesterov && !(option(opt, "momentum") > 0))
      throw Error("optimizer 'sgd': nesterov needs a momentum > 0");
    if (option(opt, "momentum") > 0) return {"momentum_update", nesterov};
    return {"sgd_update"};
  }
  if (type == "momentum" || type == "nesterov") return {"momentum_update", type == "nesterov"};
  if (type == "rmsprop") {
    if (option(opt, "centered") != 0) return {"centered_rmsprop_update"};
    return {option(opt, "momentum") > 0 ? "rmsprop_momentum_update" : "rmsprop_update"};
  }
  if (type == "adam" || type == "adamw") return {option(opt, "amsgrad") != 0 ? "amsgrad_update" : "adam_update"};
  return {type + "_update"};
}

double hyper(const ir::OptimizerSpec& opt, const std::string& key) {
  auto it = opt.hyper.find(key);
  if (it == opt.hyper.end())
    throw Error(fmt::format("optimizer '{}': hyper-parameter '{}' is not set", opt.type, key));
  return it->second;
}

ir::TensorType scalar() { return ir::TensorType{ir::DType::f32, ir::Shape{}}; }

ValueId scalar_constant(Graph& g, const std::string& name, double v) {
  return g.add_constant(name, scalar(), {float(v)});
}

// scale = min(1, clip_norm / (||g|| + 1e-6)) with ||g|| the L2 norm of all gradients
// together: torch.nn.utils.clip_grad_norm_'s formula.
ValueId global_norm_scale(Graph& g, const std::vector<ParamGrad>& grads, double clip_norm) {
  ValueId total = kNoValue;
  for (const ParamGrad& pg : grads) {
    const std::string p = g.value(pg.param).name; // a copy: g.add grows the value list
    ValueId sq = g.add("square", {pg.grad}, {}, p + ".grad_sq");
    ValueId sum = g.add("reduce_sum", {sq}, {}, p + ".grad_sumsq");
    total = total == kNoValue ? sum : g.add("add", {total, sum}, {}, "opt.grad_sumsq");
  }
  ValueId norm = g.add("sqrt", {total}, {}, "opt.grad_norm");
  ValueId denom = g.add("scale", {norm}, {{"scale", 1.0}, {"offset", 1e-6}}, "opt.grad_norm_eps");
  ValueId ratio = g.add("div", {scalar_constant(g, "opt.clip_norm", clip_norm), denom}, {}, "opt.clip_ratio");
  return g.add("minimum", {ratio, scalar_constant(g, "opt.one", 1.0)}, {}, "opt.clip_scale");
}

// A scalar state "name" advanced once per step by `advance`, which names its node
// "<name>.new"; returns the new value.
ValueId counter(Graph& g, const std::string& name, const std::string& init,
                const std::function<ValueId(ValueId)>& advance) {
  ValueId s = g.add_state(name, scalar(), ir::Initializer{init});
  ValueId next = advance(s);
  g.add_update(s, next);
  return next;
}

ir::Attrs update_attrs(const ir::OptimizerSpec& opt, const OptimizerDef& def) {
  ir::Attrs a;
  for (const std::string& h : def.layout().hypers) a.set(h, hyper(opt, h));
  if (def.nesterov) a.set("nesterov", true);
  if (opt.weight_decay > 0)
    a.set(opt.decoupled_weight_decay ? "decoupled_weight_decay" : "weight_decay", opt.weight_decay);
  if (opt.clip_value > 0) a.set("clip_value", opt.clip_value);
  return a;
}

ir::Initializer slot_init(const ir::OptimizerSpec& opt, const std::string& slot) {
  ir::Initializer init;
  if (slot == "accumulator" && hyper(opt, "initial_accumulator") != 0) {
    init.kind = "constant";
    init.value = hyper(opt, "initial_accumulator");
  }
  return init;
}

// The per-step scalar operands of an update, in the layout's order, each computed once
// per step for every parameter: the learning rate, and from the step count t (state
// "opt.step") and Nadam's product of momentum coefficients ("opt.mu_product") the bias
// corrections and Nadam's coefficients.
std::vector<ValueId> step_scalars(Graph& g, const ir::OptimizerSpec& opt, const ir::UpdateLayout& layout, ValueId lr) {
  ValueId step = kNoValue, mu_product = kNoValue;
  auto need_step = [&] {
    if (step == kNoValue)
      step = counter(g, "opt.step", "zeros", [&](ValueId s) {
        return g.add("scale", {s}, {{"scale", 1.0}, {"offset", 1.0}}, "opt.step.new");
      });
    return step;
  };
  auto mu = [&] { return ir::Attrs{{"beta1", hyper(opt, "beta1")}, {"momentum_decay", hyper(opt, "momentum_decay")}}; };
  auto need_mu_product = [&] {
    if (mu_product == kNoValue) {
      ValueId t = need_step();
      mu_product = counter(g, "opt.mu_product", "ones",
                           [&](ValueId s) { return g.add("nadam_mu_product", {s, t}, mu(), "opt.mu_product.new"); });
    }
    return mu_product;
  };
  std::vector<ValueId> out;
  for (const std::string& name : layout.scalars) {
    if (name == "lr") out.push_back(lr);
    else if (name == "bias_correction1" || name == "bias_correction2")
      out.push_back(g.add("bias_correction", {need_step()}, {{"beta", hyper(opt, name.back() == '1' ? "beta1" : "beta2")}},
                          "opt." + name));
    else if (name == "grad_coef" || name == "momentum_coef")
      out.push_back(g.add("nadam_" + name, {need_step(), need_mu_product()}, mu(), "opt." + name));
    else
      throw Error(fmt::format("optimizer '{}': no computation for the update's scalar '{}'", opt.type, name));
  }
  return out;
}

// A parameter's constraints (Keras's kernel_constraint) on its updated value w:
//   max_norm  w * min(n, c) / (n + 1e-7), n = sqrt(sum of w^2 over the axes), per slice
//   non_neg   max(w, 0)
// Keras's formulas (its epsilon 1e-7); applied after the update, as Keras does.
ValueId constrain(Graph& g, ValueId param, ValueId w) {
  const std::string name = g.value(param).name;
  double max_norm = g.value(param).max_norm;
  std::vector<int64_t> axes = g.value(param).max_norm_axes;
  bool non_neg = g.value(param).non_neg;
  if (max_norm > 0) {
    ValueId sq = g.add("square", {w}, {}, name + ".sq");
    ValueId sum = g.add("reduce_sum", {sq}, {{"axes", axes}, {"keepdims", true}}, name + ".sumsq");
    ValueId norm = g.add("sqrt", {sum}, {}, name + ".norm");
    ValueId desired = g.add("minimum", {norm, scalar_constant(g, name + ".max_norm", max_norm)}, {}, name + ".desired_norm");
    ValueId denom = g.add("scale", {norm}, {{"scale", 1.0}, {"offset", 1e-7}}, name + ".norm_eps");
    ValueId factor = g.add("div", {desired, denom}, {}, name + ".norm_scale");
    w = g.add("mul", {w, factor}, {}, name + ".max_normed");
  }
  if (non_neg) w = g.add("relu", {w}, {}, name + ".non_neg");
  return w;
}

void check_spec(const ir::OptimizerSpec& opt) {
  auto non_negative = [](const char* what, double v) {
    if (!(v >= 0)) throw Error(fmt::format("optimizer: {} must be >= 0, got {}", what, v));
  };
  non_negative("weight_decay", opt.weight_decay);
  non_negative("clip_norm", opt.clip_norm);
  non_negative("clip_value", opt.clip_value);
  if (opt.type == "adamw" && opt.weight_decay > 0 && !opt.decoupled_weight_decay)
    throw Error("optimizer 'adamw': its weight decay is decoupled (use adam for the coupled L2 form)");
}

} // namespace

void append_optimizer(Graph& g, const ir::OptimizerSpec& opt, const std::vector<ParamGrad>& grads,
                      ValueId lr) {
  const OptimizerDef def = find_def(opt);
  check_spec(opt);
  if (lr == kNoValue || g.type(lr) != scalar())
    throw Error("append_optimizer: the learning rate must be an f32[] value");
  std::vector<ParamGrad> live;
  for (const ParamGrad& pg : grads)
    if (pg.grad != kNoValue) live.push_back(pg);
  if (live.empty()) return;

  ir::Attrs attrs = update_attrs(opt, def);
  ValueId clip_scale = opt.clip_norm > 0 ? global_norm_scale(g, live, opt.clip_norm) : kNoValue;
  std::vector<ValueId> scalars = step_scalars(g, opt, def.layout(), lr);
  for (const ParamGrad& pg : live) {
    std::string name = g.value(pg.param).name;
    std::vector<ValueId> operands = {pg.param, pg.grad};
    std::vector<ValueId> slots;
    for (const std::string& slot : def.layout().slots) {
      slots.push_back(g.add_state(name + "." + slot, g.type(pg.param), slot_init(opt, slot)));
      operands.push_back(slots.back());
    }
    operands.insert(operands.end(), scalars.begin(), scalars.end());
    if (clip_scale != kNoValue) operands.push_back(clip_scale);
    std::vector<ValueId> next = g.add_node(def.op, operands, attrs, name + ".update");
    ValueId constrained = constrain(g, pg.param, next[0]);
    g.rename(next[0], constrained == next[0] ? name + ".new" : name + ".updated");
    if (constrained != next[0]) g.rename(constrained, name + ".new");
    g.add_update(pg.param, constrained);
    for (size_t k = 0; k < slots.size(); k++) {
      g.rename(next[k + 1], g.value(slots[k]).name + ".new");
      g.add_update(slots[k], next[k + 1]);
    }
  }
}

// t counts from 0: the first epoch (or step) runs at the base rate.
dlc_rt::Schedule runtime_schedule(const ir::OptimizerSpec& opt) {
  const ir::ScheduleSpec& s = opt.schedule;
  static const std::vector<std::pair<std::string, dlc_rt::ScheduleKind>> kinds = {
      {"constant", dlc_rt::ScheduleKind::constant},   {"inverse_sqrt", dlc_rt::ScheduleKind::inverse_sqrt},
      {"inverse_time", dlc_rt::ScheduleKind::inverse_time}, {"step", dlc_rt::ScheduleKind::step},
      {"exponential", dlc_rt::ScheduleKind::exponential}, {"cosine", dlc_rt::ScheduleKind::cosine},
      {"piecewise", dlc_rt::ScheduleKind::piecewise}};
  auto it = std::find_if(kinds.begin(), kinds.end(), [&](auto& k) { return k.first == s.type; });
  if (it == kinds.end()) throw Error(fmt::format("unknown learning-rate schedule '{}'", s.type));
  if (s.type == "piecewise" && s.values.size() != s.boundaries.size() + 1)
    throw Error("piecewise schedule: one more rate than boundaries is needed");
  return dlc_rt::Schedule{it->second, hyper(opt, "lr"), s.unit == "step", s.warmup, s.step_size, s.gamma,
                          s.decay_rate, s.decay_steps, s.alpha, s.restarts, s.t_mul, s.m_mul,
                          s.boundaries.data(), s.values.data(), int64_t(s.boundaries.size())};
}

double scheduled_lr(const ir::OptimizerSpec& opt, int64_t step, int64_t epoch) {
  return dlc_rt::scheduled_lr(runtime_schedule(opt), uint64_t(step), uint64_t(epoch));
}

} // namespace dlc::passes
