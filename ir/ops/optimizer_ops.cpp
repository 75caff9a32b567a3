// Optimizer updates: one op per optimizer, each updating one parameter and its state
// slots element by element. A fused op (rather than a chain of element-wise ops) makes
// "the update of one parameter" a single kernel for every backend without relying on
// fusion heuristics, reads each of param/grad/slots once and writes each result once,
// and keeps every optimizer's formula in one place (docs/training.md).
//
// Operands:  param, grad, slot..., lr, [step], [mu_product], [grad_scale]
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
//   adadelta_update   s' = rho s + (1-rho) g^2;  d = sqrt(u + eps) / sqrt(s' + eps) * g;
//                     u' = rho u + (1-rho) d^2;  p - lr d
//   adam_update       m' = b1 m + (1-b1) g;  v' = b2 v + (1-b2) g^2;
//                     p - lr (m' / (1-b1^t)) / (sqrt(v' / (1-b2^t)) + epsilon)
//   nadam_update      Dozat's Nadam with mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay)):
//                     m', v' as adam;  p - lr [(1-mu_t)/(1-P_t) g + mu_{t+1}/(1-P_t mu_{t+1}) m']
//                                         / (sqrt(v' / (1-b2^t)) + epsilon)
//   nadam_mu_product  P_t = P_{t-1} * mu_t   (the scalar state all nadam updates share)
//
// `step` is the step being taken, t = 1 on the first step; P_t is mu_1 * ... * mu_t.
#include "ir/ops/common.h"

namespace dlc::ir::ops {

namespace {

struct UpdateOp {
  const char* name;
  const char* summary;
  std::vector<std::string> slots;   // state operands (and results) after param and grad
  std::vector<std::string> scalars; // f32[] operands after the slots; lr first
  std::vector<std::string> hypers;  // required Float attributes
};

const std::vector<UpdateOp>& update_ops() {
  static const std::vector<UpdateOp> ops = {
      {"sgd_update", "p - lr g", {}, {"lr"}, {}},
      {"momentum_update", "classical (or Nesterov) momentum", {"velocity"}, {"lr"}, {"momentum"}},
      {"adagrad_update", "Adagrad (Duchi et al. 2011)", {"accumulator"}, {"lr"}, {"epsilon"}},
      {"rmsprop_update", "RMSProp (Tieleman & Hinton 2012)", {"mean_square"}, {"lr"},
       {"rho", "epsilon"}},
      {"adadelta_update", "Adadelta (Zeiler 2012)", {"mean_square", "mean_square_delta"}, {"lr"},
       {"rho", "epsilon"}},
      {"adam_update", "Adam (Kingma & Ba 2015)", {"m", "v"}, {"lr", "step"},
       {"beta1", "beta2", "epsilon"}},
      {"nadam_update", "Nadam (Dozat 2016)", {"m", "v"}, {"lr", "step", "mu_product"},
       {"beta1", "beta2", "epsilon", "momentum_decay"}},
  };
  return ops;
}

bool is_fraction(const std::string& hyper) {
  return hyper == "momentum" || hyper == "rho" || hyper == "beta1" || hyper == "beta2";
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

InferFn infer_update(const UpdateOp& op) {
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
  for (const std::string& h : op.hypers) attrs.push_back({h, AttrKind::Float});
  attrs.push_back({"weight_decay", AttrKind::Float, false});
  attrs.push_back({"decoupled_weight_decay", AttrKind::Float, false});
  attrs.push_back({"clip_value", AttrKind::Float, false});
  if (std::string(op.name) == "momentum_update") attrs.push_back({"nesterov", AttrKind::Bool, false});
  int fixed = int(2 + op.slots.size() + op.scalars.size());
  register_op({op.name, op.summary, fixed, fixed + 1, attrs, infer_update(op), OpClass::optimizer});
}

} // namespace

void register_optimizer_ops() {
  for (const UpdateOp& op : update_ops()) register_update(op);
  register_op({"nadam_mu_product", "P_t = P_{t-1} * beta1 (1 - 0.5 * 0.96^(t * momentum_decay))",
               2, 2, {{"beta1", AttrKind::Float}, {"momentum_decay", AttrKind::Float}},
               [](const InferContext& c) {
                 expect_scalar(c, 0, "mu_product");
                 expect_scalar(c, 1, "step");
                 check_hypers(c, {"beta1", "momentum_decay"});
                 return std::vector<TensorType>{scalar_f32()};
               },
               OpClass::optimizer});
}

} // namespace dlc::ir::ops
