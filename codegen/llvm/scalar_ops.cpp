// Activations, arithmetic, activation gradients and dropout as scalar IR. Each formula
// follows the interpreter's (ir/interp/eval_elementwise.cpp, eval_grad.cpp) operation by
// operation; comparisons are written as the interpreter's, so NaN goes the same way.
#include "codegen/llvm/scalar_ops.h"

#include "ir/error.h"

#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <map>

namespace dlc::codegen::llvmgen {

using llvm::Value;
using Builder = llvm::IRBuilder<>;
using Args = std::vector<Value*>;

Value* f32(Builder& b, double v) { return llvm::ConstantFP::get(b.getFloatTy(), float(v)); }

namespace {

Value* zero(Builder& b) { return f32(b, 0.0); }
Value* gt0(Builder& b, Value* x) { return b.CreateFCmpOGT(x, zero(b)); }
Value* call1(Builder& b, llvm::Intrinsic::ID id, Value* x) { return b.CreateUnaryIntrinsic(id, x); }

Value* sigmoid(Builder& b, Value* x) {
  Value* e = call1(b, llvm::Intrinsic::exp, b.CreateFNeg(x));
  return b.CreateFDiv(f32(b, 1.0), b.CreateFAdd(f32(b, 1.0), e));
}

// x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)), without overflow for large |x|.
Value* softplus(Builder& b, Value* x) {
  llvm::Module* m = b.GetInsertBlock()->getModule();
  llvm::FunctionCallee log1pf = m->getOrInsertFunction("log1pf", b.getFloatTy(), b.getFloatTy());
  if (auto* f = llvm::dyn_cast<llvm::Function>(log1pf.getCallee())) {
    f->setDoesNotAccessMemory();
    f->setDoesNotThrow();
    f->setWillReturn();
  }
  Value* neg_abs = b.CreateSelect(gt0(b, x), b.CreateFNeg(x), x);
  Value* l = b.CreateCall(log1pf, {call1(b, llvm::Intrinsic::exp, neg_abs)});
  return b.CreateSelect(gt0(b, x), b.CreateFAdd(x, l), l);
}

// (x > 0) - (x < 0)
Value* sign(Builder& b, Value* x) {
  Value* pos = b.CreateUIToFP(gt0(b, x), b.getFloatTy());
  Value* neg = b.CreateUIToFP(b.CreateFCmpOLT(x, zero(b)), b.getFloatTy());
  return b.CreateFSub(pos, neg);
}

// std::max(a, b) is (a < b) ? b : a; std::min(a, b) is (b < a) ? b : a.
Value* maximum(Builder& b, Value* x, Value* y) { return b.CreateSelect(b.CreateFCmpOLT(x, y), y, x); }
Value* minimum(Builder& b, Value* x, Value* y) { return b.CreateSelect(b.CreateFCmpOLT(y, x), y, x); }

// dlc_rt::mix64 (runtime/rng.h) on i64 values.
Value* mix64(Builder& b, Value* z) {
  z = b.CreateAdd(z, b.getInt64(0x9E3779B97F4A7C15ull));
  z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 30)), b.getInt64(0xBF58476D1CE4E5B9ull));
  z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 27)), b.getInt64(0x94D049BB133111EBull));
  return b.CreateXor(z, b.CreateLShr(z, 31));
}

// Inverted dropout with the interpreter's mask: element i of stream k at step s is kept
// when rng_uniform(seed, (k << 32) + s, i) >= rate; kept elements are scaled by
// 1 / (1 - rate). The identity when not training.
Value* dropout(Builder& b, const ScalarOp& e, Value* x, const ElementEnv& env) {
  double rate = e.attrs.get_float("rate");
  if (rate == 0) return x;
  Value* stream = b.CreateAdd(b.getInt64(uint64_t(e.attrs.get_int("stream")) << 32), env.step);
  Value* key = mix64(b, b.CreateXor(env.seed, mix64(b, stream)));
  Value* bits = mix64(b, b.CreateXor(key, env.index));
  Value* u = b.CreateFMul(b.CreateUIToFP(b.CreateLShr(bits, 40), b.getFloatTy()), f32(b, 1.0 / 16777216.0));
  Value* keep = b.CreateFCmpOGE(u, f32(b, rate));
  Value* dropped = b.CreateSelect(keep, b.CreateFMul(x, f32(b, 1.0 / (1.0 - rate))), zero(b));
  return b.CreateSelect(env.training, dropped, x);
}

// maximum_grad / minimum_grad (a, b, dy) {operand}: dy where the operand won, ties to a.
Value* select_grad(Builder& b, const ScalarOp& e, const Args& a, bool is_max) {
  Value* a_wins = is_max ? b.CreateFCmpOGE(a[0], a[1]) : b.CreateFCmpOLE(a[0], a[1]);
  if (e.attrs.get_int("operand") != 0) a_wins = b.CreateNot(a_wins);
  return b.CreateSelect(a_wins, a[2], zero(b));
}

using OpFn = std::function<Value*(Builder&, const ScalarOp&, const Args&, const ElementEnv&)>;

const std::map<std::string, OpFn>& op_table() {
  using E = ScalarOp;
  using Env = ElementEnv;
  static const std::map<std::string, OpFn> t = {
      {"sigmoid", [](Builder& b, const E&, const Args& a, const Env&) { return sigmoid(b, a[0]); }},
      {"tanh", [](Builder& b, const E&, const Args& a, const Env&) { return call1(b, llvm::Intrinsic::tanh, a[0]); }},
      {"relu", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateSelect(gt0(b, a[0]), a[0], zero(b)); }},
      {"softplus", [](Builder& b, const E&, const Args& a, const Env&) { return softplus(b, a[0]); }},
      {"exp", [](Builder& b, const E&, const Args& a, const Env&) { return call1(b, llvm::Intrinsic::exp, a[0]); }},
      {"log", [](Builder& b, const E&, const Args& a, const Env&) { return call1(b, llvm::Intrinsic::log, a[0]); }},
      {"neg", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFNeg(a[0]); }},
      {"sqrt", [](Builder& b, const E&, const Args& a, const Env&) { return call1(b, llvm::Intrinsic::sqrt, a[0]); }},
      {"square", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFMul(a[0], a[0]); }},
      {"abs", [](Builder& b, const E&, const Args& a, const Env&) { return call1(b, llvm::Intrinsic::fabs, a[0]); }},
      {"sign", [](Builder& b, const E&, const Args& a, const Env&) { return sign(b, a[0]); }},
      {"leaky_relu", [](Builder& b, const E& e, const Args& a, const Env&) {
         return b.CreateSelect(gt0(b, a[0]), a[0], b.CreateFMul(f32(b, e.attrs.get_float("alpha")), a[0]));
       }},
      {"scale", [](Builder& b, const E& e, const Args& a, const Env&) {
         Value* y = b.CreateFMul(a[0], f32(b, e.attrs.get_float("scale")));
         float offset = float(e.attrs.get_float("offset", 0.0));
         return offset == 0.0f ? y : b.CreateFAdd(y, f32(b, offset));
       }},
      {"add", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFAdd(a[0], a[1]); }},
      {"bias_add", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFAdd(a[0], a[1]); }},
      {"sub", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFSub(a[0], a[1]); }},
      {"mul", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFMul(a[0], a[1]); }},
      {"div", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateFDiv(a[0], a[1]); }},
      {"maximum", [](Builder& b, const E&, const Args& a, const Env&) { return maximum(b, a[0], a[1]); }},
      {"minimum", [](Builder& b, const E&, const Args& a, const Env&) { return minimum(b, a[0], a[1]); }},
      {"prelu", [](Builder& b, const E&, const Args& a, const Env&) {
         return b.CreateSelect(gt0(b, a[0]), a[0], b.CreateFMul(a[1], a[0]));
       }},
      {"dropout", [](Builder& b, const E& e, const Args& a, const Env& env) { return dropout(b, e, a[0], env); }},
      {"relu_grad", [](Builder& b, const E&, const Args& a, const Env&) { return b.CreateSelect(gt0(b, a[0]), a[1], zero(b)); }},
      {"leaky_relu_grad", [](Builder& b, const E& e, const Args& a, const Env&) {
         return b.CreateSelect(gt0(b, a[0]), a[1], b.CreateFMul(f32(b, e.attrs.get_float("alpha")), a[1]));
       }},
      {"sigmoid_grad", [](Builder& b, const E&, const Args& a, const Env&) {
         return b.CreateFMul(b.CreateFMul(a[1], a[0]), b.CreateFSub(f32(b, 1.0), a[0]));
       }},
      {"tanh_grad", [](Builder& b, const E&, const Args& a, const Env&) {
         return b.CreateFMul(a[1], b.CreateFSub(f32(b, 1.0), b.CreateFMul(a[0], a[0])));
       }},
      {"prelu_grad_input", [](Builder& b, const E&, const Args& a, const Env&) {
         return b.CreateSelect(gt0(b, a[0]), a[2], b.CreateFMul(a[1], a[2]));
       }},
      {"maximum_grad", [](Builder& b, const E& e, const Args& a, const Env&) { return select_grad(b, e, a, true); }},
      {"minimum_grad", [](Builder& b, const E& e, const Args& a, const Env&) { return select_grad(b, e, a, false); }},
  };
  return t;
}

} // namespace

std::vector<Value*> emit_scalar_op(Builder& b, const ScalarOp& e, const Args& args, const ElementEnv& env) {
  for (Value* a : args)
    if (!a->getType()->isFloatTy())
      throw Error(fmt::format("LLVM backend: element-wise op '{}' on a non-f32 operand", e.name));
  if (is_update_op(e.name)) return emit_update_op(b, e, args);
  auto it = op_table().find(e.name);
  if (it == op_table().end())
    throw Error(fmt::format("LLVM backend: no scalar form for element-wise op '{}'", e.name));
  return {it->second(b, e, args, env)};
}

} // namespace dlc::codegen::llvmgen
