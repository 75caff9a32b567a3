// Reference kernels of the optimizer updates (ir/ops/optimizer_ops.cpp, where the
// formulas are listed). Each update shares the gradient preparation (clip scale, clip by
// value, coupled weight decay) and the decoupled weight decay; only the rule differs.
#include "ir/interp/eval_common.h"

#include <algorithm>
#include <functional>

namespace dlc::ir::interp {

namespace {

// One element's update: takes param and prepared gradient, reads and updates the slots
// in place, returns the new param (before decoupled weight decay).
using Rule = std::function<double(double p, double g, double* slots)>;
// Builds the rule of one node from its attributes and scalar operands (lr first).
using RuleMaker = std::function<Rule(const Attrs&, const std::vector<double>& scalars)>;

void register_update(const std::string& op, RuleMaker make) {
  const UpdateLayout& layout = *get_op(op).update;
  size_t slots = layout.slots.size(), scalars = layout.scalars.size();
  register_eval(op, [=](const Node& n, const std::vector<const Tensor*>& in,
                        std::vector<Tensor>& out, const EvalContext&) {
    std::vector<double> sc;
    for (size_t k = 0; k < scalars; k++) sc.push_back((*in[2 + slots + k])[0]);
    size_t fixed = 2 + slots + scalars;
    double grad_scale = in.size() > fixed ? (*in[fixed])[0] : 1.0;
    double clip = n.attrs.get_float("clip_value", 0.0);
    double decay = n.attrs.get_float("weight_decay", 0.0);
    double decoupled = n.attrs.get_float("decoupled_weight_decay", 0.0);
    double lr = sc[0];
    Rule rule = make(n.attrs, sc);
    const Tensor &p = *in[0], &grad = *in[1];
    std::vector<double> s(slots);
    for (int64_t i = 0; i < p.numel(); i++) {
      for (size_t k = 0; k < slots; k++) s[k] = (*in[2 + k])[i];
      double g = grad[i] * grad_scale;
      if (clip > 0) g = std::clamp(g, -clip, clip);
      g += decay * p[i];
      out[0][i] = rule(p[i], g, s.data()) - lr * decoupled * p[i];
      for (size_t k = 0; k < slots; k++) out[1 + k][i] = s[k];
    }
  });
}

// Nadam's momentum schedule (Dozat 2016): mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)).
double nadam_mu(double beta1, double momentum_decay, double t) {
  return beta1 * (1.0 - 0.5 * std::pow(0.96, t * momentum_decay));
}

Rule sgd(const Attrs&, const std::vector<double>& sc) {
  double lr = sc[0];
  return [lr](double p, double g, double*) { return p - lr * g; };
}

Rule momentum(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], mu = a.get_float("momentum");
  bool nesterov = a.get_bool("nesterov", false);
  return [=](double p, double g, double* v) {
    v[0] = mu * v[0] - lr * g;
    return nesterov ? p + mu * v[0] - lr * g : p + v[0];
  };
}

Rule adagrad(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], eps = a.get_float("epsilon");
  return [=](double p, double g, double* acc) {
    acc[0] += g * g;
    return p - lr * g / (std::sqrt(acc[0]) + eps);
  };
}

Rule rmsprop(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], rho = a.get_float("rho"), eps = a.get_float("epsilon");
  return [=](double p, double g, double* ms) {
    ms[0] = rho * ms[0] + (1 - rho) * g * g;
    return p - lr * g / (std::sqrt(ms[0]) + eps);
  };
}

// Momentum over RMSProp's step (lr inside the velocity, as in momentum); centered: the
// denominator is the variance, the mean square minus the squared mean gradient (slot 1).
Rule rmsprop_momentum(const Attrs& a, const std::vector<double>& sc, bool centered) {
  double lr = sc[0], rho = a.get_float("rho"), eps = a.get_float("epsilon"), mu = a.get_float("momentum");
  return [=](double p, double g, double* s) {
    s[0] = rho * s[0] + (1 - rho) * g * g;
    double var = s[0];
    if (centered) {
      s[1] = rho * s[1] + (1 - rho) * g;
      var = std::max(s[0] - s[1] * s[1], 0.0);
    }
    double& v = s[centered ? 2 : 1];
    v = mu * v - lr * g / (std::sqrt(var) + eps);
    return p + v;
  };
}

Rule adadelta(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], rho = a.get_float("rho"), eps = a.get_float("epsilon");
  return [=](double p, double g, double* s) {
    s[0] = rho * s[0] + (1 - rho) * g * g;
    double d = std::sqrt(s[1] + eps) / std::sqrt(s[0] + eps) * g;
    s[1] = rho * s[1] + (1 - rho) * d * d;
    return p - lr * d;
  };
}

// sc: lr, bias_correction1, bias_correction2.
Rule adam(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], c1 = sc[1], c2 = sc[2];
  double b1 = a.get_float("beta1"), b2 = a.get_float("beta2"), eps = a.get_float("epsilon");
  return [=](double p, double g, double* s) {
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    return p - lr * (s[0] / c1) / (std::sqrt(s[1] / c2) + eps);
  };
}

// sc: lr, bias_correction1, bias_correction2; slot 2 is the largest v so far.
Rule amsgrad(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], c1 = sc[1], c2 = sc[2];
  double b1 = a.get_float("beta1"), b2 = a.get_float("beta2"), eps = a.get_float("epsilon");
  return [=](double p, double g, double* s) {
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    s[2] = std::max(s[2], s[1]);
    return p - lr * (s[0] / c1) / (std::sqrt(s[2] / c2) + eps);
  };
}

// sc: lr, grad_coef, momentum_coef, bias_correction2.
Rule nadam(const Attrs& a, const std::vector<double>& sc) {
  double lr = sc[0], grad_coef = sc[1], m_coef = sc[2], c2 = sc[3];
  double b1 = a.get_float("beta1"), b2 = a.get_float("beta2"), eps = a.get_float("epsilon");
  return [=](double p, double g, double* s) {
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    return p - lr * (grad_coef * g + m_coef * s[0]) / (std::sqrt(s[1] / c2) + eps);
  };
}

// A per-step scalar from f32[] operands and the node's attributes.
void register_step_scalar(const std::string& op, std::function<double(const Attrs&, const std::vector<double>&)> f) {
  register_eval(op, [f](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                        const EvalContext&) {
    std::vector<double> x;
    for (const Tensor* t : in) x.push_back((*t)[0]);
    out[0][0] = f(n.attrs, x);
  });
}

} // namespace

void register_optimizer_evals() {
  register_update("sgd_update", sgd);
  register_update("momentum_update", momentum);
  register_update("adagrad_update", adagrad);
  register_update("rmsprop_update", rmsprop);
  register_update("rmsprop_momentum_update",
                  [](const Attrs& a, const std::vector<double>& sc) { return rmsprop_momentum(a, sc, false); });
  register_update("centered_rmsprop_update",
                  [](const Attrs& a, const std::vector<double>& sc) { return rmsprop_momentum(a, sc, true); });
  register_update("adadelta_update", adadelta);
  register_update("adam_update", adam);
  register_update("amsgrad_update", amsgrad);
  register_update("nadam_update", nadam);
  auto mu = [](const Attrs& a, double t) { return nadam_mu(a.get_float("beta1"), a.get_float("momentum_decay"), t); };
  register_step_scalar("bias_correction", [](const Attrs& a, const std::vector<double>& x) {
    return 1 - std::pow(a.get_float("beta"), x[0]);
  });
  register_step_scalar("nadam_mu_product", [mu](const Attrs& a, const std::vector<double>& x) { return x[0] * mu(a, x[1]); });
  register_step_scalar("nadam_grad_coef", [mu](const Attrs& a, const std::vector<double>& x) {
    return (1 - mu(a, x[0])) / (1 - x[1]);
  });
  register_step_scalar("nadam_momentum_coef", [mu](const Attrs& a, const std::vector<double>& x) {
    double next = mu(a, x[0] + 1);
    return next / (1 - x[1] * next);
  });
}

} // namespace dlc::ir::interp
