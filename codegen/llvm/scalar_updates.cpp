// The optimizer updates (ir/ops/optimizer_ops.cpp lists the formulas) as scalar IR, one
// element of param, grad and slots at a time; the reference is ir/interp/eval_optimizer.cpp.
//
// Operands: param, grad, slot..., lr, [step], [mu_product], [grad_scale]; results: new
// param, new slot... Per-element arithmetic is f32; the coefficients that depend only on
// hyper-parameters and the f32[] scalars (1 - b1^t, Nadam's mu_t) are computed in double
// and rounded once; they are loop-invariant, so LLVM hoists them out of the loop.
#include "codegen/llvm/scalar_ops.h"
#include "codegen/lowering.h"

#include "ir/error.h"

#include <llvm/IR/Intrinsics.h>

#include <map>

namespace dlc::codegen::llvmgen {

using llvm::Value;
using Builder = llvm::IRBuilder<>;

namespace {

// One element's operands, named.
struct Element {
  Builder& b;
  const ir::Attrs& attrs;
  Value* p;
  Value* g;                 // the prepared gradient
  std::vector<Value*> slot; // read, and replaced by their new values
  std::vector<Value*> scalar;

  Value* c(double v) { return f32(b, v); }
  double attr(const char* name) const { return attrs.get_float(name); }
  Value* mul(Value* x, Value* y) { return b.CreateFMul(x, y); }
  Value* add(Value* x, Value* y) { return b.CreateFAdd(x, y); }
  Value* sub(Value* x, Value* y) { return b.CreateFSub(x, y); }
  Value* div(Value* x, Value* y) { return b.CreateFDiv(x, y); }
  Value* sqrt(Value* x) { return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x); }
  // decay * s + (1 - decay) * g * g: the running mean of squares.
  Value* mean_square(Value* s, double decay, Value* gg) { return add(mul(c(decay), s), mul(mul(c(1 - decay), gg), gg)); }
  // A double computation of f32[] scalars, rounded to f32.
  Value* dbl(Value* x) { return b.CreateFPExt(x, b.getDoubleTy()); }
  Value* to_f32(Value* x) { return b.CreateFPTrunc(x, b.getFloatTy()); }
  Value* dpow(double base, Value* exponent) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, llvm::ConstantFP::get(b.getDoubleTy(), base), exponent);
  }
  Value* dc(double v) { return llvm::ConstantFP::get(b.getDoubleTy(), v); }
  // 1 - base^t in double, as f32.
  Value* one_minus_pow(double base, Value* t) { return to_f32(b.CreateFSub(dc(1.0), dpow(base, dbl(t)))); }
  // Nadam's mu at step t (+ dt) in double: beta1 (1 - 0.5 * 0.96^(t * psi)).
  Value* nadam_mu(Value* t, double dt) {
    Value* tt = b.CreateFAdd(dbl(t), dc(dt));
    Value* pw = dpow(0.96, b.CreateFMul(tt, dc(attr("momentum_decay"))));
    return b.CreateFMul(dc(attr("beta1")), b.CreateFSub(dc(1.0), b.CreateFMul(dc(0.5), pw)));
  }
};

// The rule of each optimizer: returns the new param (before decoupled weight decay).
Value* rule(const std::string& op, Element& x) {
  Value* lr = x.scalar[0];
  if (op == "sgd_update") return x.sub(x.p, x.mul(lr, x.g));
  if (op == "momentum_update") {
    Value* mu = x.c(x.attr("momentum"));
    Value* v = x.slot[0] = x.sub(x.mul(mu, x.slot[0]), x.mul(lr, x.g));
    if (!x.attrs.get_bool("nesterov", false)) return x.add(x.p, v);
    return x.sub(x.add(x.p, x.mul(mu, v)), x.mul(lr, x.g));
  }
  if (op == "adagrad_update") {
    Value* acc = x.slot[0] = x.add(x.slot[0], x.mul(x.g, x.g));
    return x.sub(x.p, x.div(x.mul(lr, x.g), x.add(x.sqrt(acc), x.c(x.attr("epsilon")))));
  }
  if (op == "rmsprop_update") {
    Value* ms = x.slot[0] = x.mean_square(x.slot[0], x.attr("rho"), x.g);
    return x.sub(x.p, x.div(x.mul(lr, x.g), x.add(x.sqrt(ms), x.c(x.attr("epsilon")))));
  }
  if (op == "adadelta_update") {
    double rho = x.attr("rho");
    Value* eps = x.c(x.attr("epsilon"));
    Value* s = x.slot[0] = x.mean_square(x.slot[0], rho, x.g);
    Value* d = x.mul(x.div(x.sqrt(x.add(x.slot[1], eps)), x.sqrt(x.add(s, eps))), x.g);
    x.slot[1] = x.mean_square(x.slot[1], rho, d);
    return x.sub(x.p, x.mul(lr, d));
  }
  double b1 = x.attr("beta1"), b2 = x.attr("beta2");
  Value* t = x.scalar[1];
  Value* m = x.slot[0] = x.add(x.mul(x.c(b1), x.slot[0]), x.mul(x.c(1 - b1), x.g));
  Value* v = x.slot[1] = x.mean_square(x.slot[1], b2, x.g);
  Value* denom = x.add(x.sqrt(x.div(v, x.one_minus_pow(b2, t))), x.c(x.attr("epsilon")));
  if (op == "adam_update") return x.sub(x.p, x.div(x.mul(lr, x.div(m, x.one_minus_pow(b1, t))), denom));
  // nadam: grad_coef = (1 - mu_t) / (1 - P_t), m_coef = mu_{t+1} / (1 - P_t mu_{t+1})
  Builder& b = x.b;
  Value* prod = x.dbl(x.scalar[2]);
  Value* mu = x.nadam_mu(t, 0), *mu_next = x.nadam_mu(t, 1);
  Value* grad_coef = x.to_f32(b.CreateFDiv(b.CreateFSub(x.dc(1), mu), b.CreateFSub(x.dc(1), prod)));
  Value* m_coef = x.to_f32(b.CreateFDiv(mu_next, b.CreateFSub(x.dc(1), b.CreateFMul(prod, mu_next))));
  return x.sub(x.p, x.div(x.mul(lr, x.add(x.mul(grad_coef, x.g), x.mul(m_coef, m))), denom));
}

// P_t = P_{t-1} * mu_t: the scalar state Nadam's updates share.
Value* mu_product(Builder& b, const ScalarOp& e, const std::vector<Value*>& a) {
  Element x{b, e.attrs, nullptr, nullptr, {}, {}};
  Value* mu = x.to_f32(x.nadam_mu(a[1], 0));
  return b.CreateFMul(a[0], mu);
}

} // namespace

bool is_update_op(const std::string& op) { return update_shape(op) || op == "nadam_mu_product"; }

std::vector<Value*> emit_update_op(Builder& b, const ScalarOp& e, const std::vector<Value*>& args) {
  if (e.name == "nadam_mu_product") return {mu_product(b, e, args)};
  const UpdateShape& shape = *update_shape(e.name);
  size_t fixed = 2 + shape.slots + shape.scalars;
  Element x{b, e.attrs, args[0], args[1], {}, {}};
  x.slot.assign(args.begin() + 2, args.begin() + 2 + long(shape.slots));
  x.scalar.assign(args.begin() + 2 + long(shape.slots), args.begin() + long(fixed));
  // The prepared gradient: global-norm clip scale, clip by value, coupled weight decay.
  if (args.size() > fixed) x.g = x.mul(x.g, args[fixed]);
  double clip = e.attrs.get_float("clip_value", 0.0);
  if (clip > 0) {
    x.g = b.CreateSelect(b.CreateFCmpOLT(x.g, x.c(-clip)), x.c(-clip), x.g);
    x.g = b.CreateSelect(b.CreateFCmpOLT(x.c(clip), x.g), x.c(clip), x.g);
  }
  double decay = e.attrs.get_float("weight_decay", 0.0);
  if (decay != 0) x.g = x.add(x.g, x.mul(x.c(decay), x.p));
  Value* p = rule(e.name, x);
  double decoupled = e.attrs.get_float("decoupled_weight_decay", 0.0);
  if (decoupled != 0) p = x.sub(p, x.mul(x.mul(x.scalar[0], x.c(decoupled)), x.p));
  std::vector<Value*> out{p};
  out.insert(out.end(), x.slot.begin(), x.slot.end());
  return out;
}

} // namespace dlc::codegen::llvmgen
