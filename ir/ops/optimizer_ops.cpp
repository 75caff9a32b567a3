// Optimizer updates: one op per optimizer, each updating one parameter and its state
// slots element by element. A fused op (rather than a chain of element-wise ops) makes
// "the update of one parameter" a single kernel for every backend without relying on
// fusion heuristics, reads each of param/grad/slots once and writes each result once,
// and keeps every optimizer's formula in one place (docs/training.md).
//
// Operands:  param, grad, slot..., scalar..., [grad_scale]    (op.update says which)
// Results:   new param, new slot...            (same types as param)
//
// Every update first prepares the gradient, then applies its rule:
//   g = grad * grad_scale              (global-norm clipping; operand present only then)
//   g = clamp(g, -clip_value, clip_value)          (attribute clip_value > 0)
//   g = g + weight_decay * param                   (coupled L2, attribute weight_decay)
//   param' = rule(param, g, slots) - lr * decoupled_weight_decay * param
//
//   sgd_update        p - lr g
//   momentum_update   v' = momentum v - lr g;  p' = p + v'  (nesterov: p + momentum v' - lr g)
//   adagrad_update    G' = G + g^2;  p - lr g / (sqrt(G') + epsilon)
//   rmsprop_update    s' = rho s + (1-rho) g^2;  p - lr g / (sqrt(s') + epsilon)
//   rmsprop_momentum_update    s' as rmsprop;  v' = momentum v - lr g / (sqrt(s') + epsilon);  p + v'
//   centered_rmsprop_update    s' as rmsprop;  a' = rho a + (1-rho) g;
//                     v' = momentum v - lr g / (sqrt(max(s' - a'^2, 0)) + epsilon);  p + v'
//   adadelta_update   s' = rho s + (1-rho) g^2;  d = sqrt(u + eps) / sqrt(s' + eps) * g;
//                     u' = rho u + (1-rho) d^2;  p - lr d
//   adam_update       m' = b1 m + (1-b1) g;  v' = b2 v + (1-b2) g^2;
//                     p - lr (m' / bc1) / (sqrt(v' / bc2) + epsilon)
//   amsgrad_update    m', v' as adam;  w' = max(w, v');  p - lr (m' / bc1) / (sqrt(w' / bc2) + epsilon)
//   nadam_update      Dozat's Nadam: m', v' as adam;
//                     p - lr (grad_coef g + momentum_coef m') / (sqrt(v' / bc2) + epsilon)
//
// What depends only on the step is computed once per step, by f32[] ops of its own (their
// result is an update's scalar operand), in double and rounded once:
//   bias_correction(t) {beta}         1 - beta^t                                 (bc1, bc2)
//   nadam_mu_product(P, t)            P_t = P_{t-1} mu_t, mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))
//   nadam_grad_coef(t, P_t)           (1 - mu_t) / (1 - P_t)
//   nadam_momentum_coef(t, P_t)       mu_{t+1} / (1 - P_t mu_{t+1})
//
// `step` is the step being taken, t = 1 on the first step; P_t is mu_1 * ... * mu_t.
// runtime/kernels/scalar.h holds each formula in f32 (dlc_scalar_<op>), the interpreter
// (ir/interp/eval_optimizer.cpp) in double.
#include "ir/ops/common.h"

namespace dlc::ir::ops {

namespace {

struct UpdateOp {
  const char* name;
  const char* summary;
  UpdateLayout layout;
  std::vector<ScalarAttr> hypers; // in the scalar formula's order
};

const std::vector<UpdateOp>& update_ops() {
  using T = ScalarType;
  static const std::vector<UpdateOp> ops = {
      {"sgd_update", "p - lr g", {{}, {"lr"}, {}}, {}},
      {"momentum_update", "classical (or Nesterov) momentum", {{"velocity"}, {"lr"}, {"momentum"}},
       {{"momentum"}, {"nesterov", T::i64}}},
      {"adagrad_update", "Adagrad (Duchi et al. 2011)", {{"accumulator"}, {"lr"}, {"epsilon"}}, {{"epsilon"}}},
      {"rmsprop_update", "RMSProp (Tieleman & Hinton 2012)", {{"mean_square"}, {"lr"}, {"rho", "epsilon"}},
       {{"rho", T::f64}, {"epsilon"}}},
      {"rmsprop_momentum_update", "RMSProp with momentum",
       {{"mean_square", "velocity"}, {"lr"}, {"rho", "epsilon", "momentum"}},
       {{"rho", T::f64}, {"epsilon"}, {"momentum"}}},
      {"centered_rmsprop_update", "centered RMSProp (Graves 2013), with momentum",
       {{"mean_square", "mean_grad", "velocity"}, {"lr"}, {"rho", "epsilon", "momentum"}},
       {{"rho", T::f64}, {"epsilon"}, {"momentum"}}},
      {"adadelta_update", "Adadelta (Zeiler 2012)", {{"mean_square", "mean_square_delta"}, {"lr"}, {"rho", "epsilon"}},
       {{"rho", T::f64}, {"epsilon"}}},
      {"adam_update", "Adam (Kingma & Ba 2015)",
       {{"m", "v"}, {"lr", "bias_correction1", "bias_correction2"}, {"beta1", "beta2", "epsilon"}},
       {{"beta1", T::f64}, {"beta2", T::f64}, {"epsilon"}}},
      {"amsgrad_update", "AMSGrad (Reddi et al. 2018): Adam with the maximum of past second moments",
       {{"m", "v", "v_max"}, {"lr", "bias_correction1", "bias_correction2"}, {"beta1", "beta2", "epsilon"}},
       {{"beta1", T::f64}, {"beta2", T::f64}, {"epsilon"}}},
      {"nadam_update", "Nadam (Dozat 2016)",
       {{"m", "v"}, {"lr", "grad_coef", "momentum_coef", "bias_correction2"}, {"beta1", "beta2", "epsilon"}},
       {{"beta1", T::f64}, {"beta2", T::f64}, {"epsilon"}}},
  };
  return ops;
}

bool is_fraction(const std::string& hyper) {
  return hyper == "momentum" || hyper == "rho" || hyper == "beta1" || hyper == "beta2" || hyper == "beta";
}

// Hyper-parameters in range: decay factors in [0, 1), the rest >= 0 (epsilon > 0).
void check_hypers(const InferContext& c, const std::vector<std::string>& hypers) {
  for (const std::string& h : hypers) {
    double v = c.attrs.get_float(h);
    bool ok = is_fraction(h) ? v >= 0 && v < 1 : h == "epsilon" ? v > 0 : v >= 0;
    if (!ok) c.fail("attribute {} = {} is out of range", h, v);
  }
  for (const char* h : {"weight_decay", "decoupled_weight_decay", "clip_value"})
    if (!(c.attrs.get_float(h, 0.0) >= 0)) c.fail("attribute {} must be >= 0", h);
}

void expect_scalar(const InferContext& c, size_t i, const std::string& what) {
  if (c.in[i] != scalar_f32()) c.fail("operand {} ({}) must be f32[], got {}", i, what, c.in[i].str());
}

InferFn infer_update(const UpdateLayout& op) {
  return [op](const InferContext& c) {
    c.expect_float(0);
    size_t slots = op.slots.size();
    for (size_t i = 1; i < 2 + slots; i++) {
      const std::string& what = i == 1 ? "grad" : op.slots[i - 2];
      if (c.in[i] != c.in[0])
        c.fail("operand {} ({}) must have the parameter's type {}, got {}", i, what, c.in[0].str(),
               c.in[i].str());
    }
    for (size_t k = 0; k < op.scalars.size(); k++) expect_scalar(c, 2 + slots + k, op.scalars[k]);
    size_t fixed = 2 + slots + op.scalars.size();
    if (c.in.size() > fixed) expect_scalar(c, fixed, "grad_scale");
    check_hypers(c, op.hypers);
    return std::vector<TensorType>(1 + slots, c.in[0]);
  };
}

void register_update(const UpdateOp& op) {
  std::vector<AttrSpec> attrs;
  for (const std::string& h : op.layout.hypers) attrs.push_back({h, AttrKind::Float});
  attrs.push_back({"weight_decay", AttrKind::Float, false});
  attrs.push_back({"decoupled_weight_decay", AttrKind::Float, false});
  attrs.push_back({"clip_value", AttrKind::Float, false});
  if (std::string(op.name) == "momentum_update") attrs.push_back({"nesterov", AttrKind::Bool, false});
  int fixed = int(2 + op.layout.slots.size() + op.layout.scalars.size());
  ScalarForm form;
  form.slots = int(op.layout.slots.size());
  form.absent = {{"grad_scale", ScalarType::f32, 1.0}}; // no gradient scale: 1
  form.attrs = op.hypers;
  form.attrs.insert(form.attrs.end(), {{"clip_value"}, {"weight_decay"}, {"decoupled_weight_decay"}});
  OpDef& d = body({op.name, op.summary, fixed, fixed + 1, attrs, infer_update(op.layout), OpClass::optimizer},
                  std::move(form));
  d.update = op.layout;
  d.phase = Phase::optimizer;
  d.batch = nullptr; // an update of a batched value has no meaning
}

// A per-step f32[] scalar of the optimizers: operands `operands`, hyper-parameters `hypers`.
void register_step_scalar(const char* name, const char* summary, std::vector<std::string> operands,
                          std::vector<ScalarAttr> hypers) {
  std::vector<AttrSpec> attrs;
  for (const ScalarAttr& h : hypers) attrs.push_back({h.name, AttrKind::Float});
  int n = int(operands.size());
  OpDef& d = body({name, summary, n, n, attrs,
                   [operands, hypers](const InferContext& c) {
                     for (size_t i = 0; i < operands.size(); i++) expect_scalar(c, i, operands[i]);
                     std::vector<std::string> names;
                     for (const ScalarAttr& h : hypers) names.push_back(h.name);
                     check_hypers(c, names);
                     return std::vector<TensorType>{scalar_f32()};
                   },
                   OpClass::optimizer},
                  {hypers});
  d.phase = Phase::optimizer;
  d.batch = nullptr;
}

} // namespace

void register_optimizer_ops() {
  for (const UpdateOp& op : update_ops()) register_update(op);
  using T = ScalarType;
  register_step_scalar("bias_correction", "1 - beta^t", {"step"}, {{"beta", T::f64}});
  std::vector<ScalarAttr> mu = {{"beta1", T::f64}, {"momentum_decay", T::f64}};
  register_step_scalar("nadam_mu_product", "P_t = P_{t-1} * beta1 (1 - 0.5 * 0.96^(t * momentum_decay))",
                       {"mu_product", "step"}, mu);
  register_step_scalar("nadam_grad_coef", "(1 - mu_t) / (1 - P_t)", {"step", "mu_product"}, mu);
  register_step_scalar("nadam_momentum_coef", "mu_{t+1} / (1 - P_t mu_{t+1})", {"step", "mu_product"}, mu);
  // Examples: a [3, 4] parameter, its gradient and state, positive where a square root reads it.
  ExampleOperand p = f32_in({3, 4}), g = f32_in({3, 4}), sq = f32_in({3, 4}, 0, 1), lr = f32_in({}, 0.01, 0.1);
  ExampleOperand frac = f32_in({}, 0.1, 0.9), step = {f32({}), 1, 10, true};
  auto set = [](const char* op, OpExample e) { registered_op(op).example = std::move(e); };
  set("sgd_update", example({p, g, lr}, {{"weight_decay", 0.01}}));
  set("momentum_update", example({p, g, g, lr}, {{"momentum", 0.9}, {"nesterov", true}}));
  set("adagrad_update", example({p, g, sq, lr}, {{"epsilon", 1e-7}, {"clip_value", 0.5}}));
  set("rmsprop_update", example({p, g, sq, lr}, {{"rho", 0.9}, {"epsilon", 1e-7}}));
  set("rmsprop_momentum_update", example({p, g, sq, g, lr}, {{"rho", 0.9}, {"epsilon", 1e-7}, {"momentum", 0.9}}));
  // mean_grad^2 <= mean_square, as the running means keep it.
  set("centered_rmsprop_update", example({p, g, sq, f32_in({3, 4}, -0.1, 0.1), g, lr},
                                         {{"rho", 0.9}, {"epsilon", 1e-7}, {"momentum", 0.5}, {"weight_decay", 0.01}}));
  set("adadelta_update", example({p, g, sq, sq, lr}, {{"rho", 0.95}, {"epsilon", 1e-6}}));
  set("adam_update", example({p, g, g, sq, lr, frac, frac, frac},
                             {{"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-7}, {"decoupled_weight_decay", 0.01}}));
  set("amsgrad_update", example({p, g, g, sq, sq, lr, frac, frac, frac},
                                {{"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-7}, {"clip_value", 0.5}}));
  set("nadam_update", example({p, g, g, sq, lr, frac, frac, frac}, {{"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-7}}));
  set("bias_correction", example({step}, {{"beta", 0.9}}));
  Attrs mu_attrs{{"beta1", 0.9}, {"momentum_decay", 0.004}};
  set("nadam_mu_product", example({frac, step}, mu_attrs));
  set("nadam_grad_coef", example({step, frac}, mu_attrs));
  set("nadam_momentum_coef", example({step, frac}, mu_attrs));
}

} // namespace dlc::ir::ops
