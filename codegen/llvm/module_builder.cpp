#include "codegen/llvm/module_builder.h"

#include "codegen/llvm/loop_nest.h"
#include "codegen/llvm/run_context.h"
#include "codegen/llvm/scalar_ops.h"
#include "ir/error.h"

#include <llvm/IR/IRBuilder.h>

#include <map>

namespace dlc::codegen::llvmgen {

using llvm::Value;

namespace {

// What every kernel function receives (and passes on to its loops).
struct RunArgs {
  Value* base[passes::kRegions];
  Value* n;
  Value* seed;
  Value* step;
  Value* training; // i32
  Value* t = nullptr; // inside a Repeat: its counter
};

class ModuleBuilder {
public:
  ModuleBuilder(const Program& l, llvm::LLVMContext& ctx, const ModuleOptions& opts)
      : l_(l), ctx_(ctx), opts_(opts), m_(std::make_unique<llvm::Module>("dlc", ctx)), b_(ctx), scalars_(*m_) {}

  std::unique_ptr<llvm::Module> build(const std::string& entry);

private:
  const Program& l_;
  llvm::LLVMContext& ctx_;
  ModuleOptions opts_;
  std::unique_ptr<llvm::Module> m_;
  llvm::IRBuilder<> b_;
  ScalarLibrary scalars_;

  llvm::Type* i64() { return b_.getInt64Ty(); }
  llvm::Type* ptr() { return b_.getPtrTy(); }
  llvm::Type* elem_type(ir::DType t);
  Value* address(const RunArgs& r, const Ref& ref) {
    Program::Place p = l_.place(ref);
    return b_.CreateInBoundsGEP(b_.getInt8Ty(), r.base[size_t(p.region)], b_.getInt64(p.offset));
  }

  // A loop operand's address: its Ref, moved by step_stride elements per step of the
  // enclosing Repeat.
  Value* operand_address(const RunArgs& r, const Operand& o) {
    Value* a = address(r, o.ref);
    if (!o.step_stride) return a;
    if (!r.t) throw Error(fmt::format("LLVM backend: operand '{}' moves with a step outside a loop over steps", o.name));
    Value* bytes = b_.CreateMul(r.t, b_.getInt64(o.step_stride * ir::dtype_size(o.ref.dtype)), "", true, true);
    return b_.CreateInBoundsGEP(b_.getInt8Ty(), a, bytes, o.name + ".t");
  }

  void build_entry(const std::string& entry, const std::vector<llvm::Function*>& kernels);
  void emit_steps(const std::vector<Step>& steps, const RunArgs& r, const std::string& kernel, int& loops);
  void emit_repeat(const Repeat& rep, RunArgs r, const std::string& kernel, int& loops);
  llvm::Function* kernel_function(const Kernel& k);
  void emit_call(const Call& c, const RunArgs& r);
  void emit_loop(const Loop& loop, const RunArgs& r, const std::string& name);
  llvm::Function* loop_function(const Loop& loop, const std::string& name);
  llvm::Function* task_function(const Loop& loop, llvm::Function* body, const std::string& name);
  void loop_body(const Loop& loop, llvm::Function* f, const LoopElement& e, const ElementEnv& env);
};

llvm::Type* ModuleBuilder::elem_type(ir::DType t) {
  switch (t) {
  case ir::DType::f32: return b_.getFloatTy();
  case ir::DType::i32: return b_.getInt32Ty();
  case ir::DType::i64: return b_.getInt64Ty();
  case ir::DType::boolean: return b_.getInt8Ty();
  default: throw Error(fmt::format("LLVM backend: no element type for {}", ir::dtype_name(t)));
  }
}

std::unique_ptr<llvm::Module> ModuleBuilder::build(const std::string& entry) {
  std::vector<llvm::Function*> kernels;
  for (const Kernel& k : l_.kernels) kernels.push_back(kernel_function(k));
  // The weight preparation (the first prepare_count kernels) is an entry of its own.
  auto first = kernels.begin() + l_.prepare_count;
  if (l_.prepare_count > 0) build_entry(entry + "_prepare", {kernels.begin(), first});
  build_entry(entry, {first, kernels.end()});
  scalars_.link(opts_.contract);
  return std::move(m_);
}

void ModuleBuilder::build_entry(const std::string& entry, const std::vector<llvm::Function*>& kernels) {
  auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {ptr()}, false);
  auto* f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, entry, *m_);
  f->setDoesNotThrow();
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", f));
  Value* ctx = f->getArg(0);
  auto field = [&](llvm::Type* t, size_t offset, const char* name) {
    return b_.CreateLoad(t, b_.CreateInBoundsGEP(b_.getInt8Ty(), ctx, b_.getInt64(int64_t(offset))), name);
  };
  std::vector<Value*> args;
  for (int r = 0; r < passes::kRegions; r++)
    args.push_back(field(ptr(), offsetof(RunContext, regions) + size_t(r) * sizeof(void*), passes::region_name(passes::Region(r))));
  args.push_back(field(i64(), offsetof(RunContext, n), "n"));
  args.push_back(field(i64(), offsetof(RunContext, seed), "seed"));
  args.push_back(field(i64(), offsetof(RunContext, step), "step"));
  args.push_back(field(b_.getInt32Ty(), offsetof(RunContext, training), "training"));
  // Denormals flushed for the whole run, element-wise loops included (runtime/ftz.h).
  b_.CreateCall(m_->getOrInsertFunction("dlc_rt_enable_ftz", b_.getVoidTy()));
  for (llvm::Function* k : kernels) b_.CreateCall(k, args);
  b_.CreateRetVoid();
}

llvm::Function* ModuleBuilder::kernel_function(const Kernel& k) {
  std::vector<llvm::Type*> params = {ptr(), ptr(), ptr(), i64(), i64(), i64(), b_.getInt32Ty()};
  auto* f = llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), params, false),
                                   llvm::Function::InternalLinkage, k.c_name, *m_);
  f->setDoesNotThrow();
  // One function per kernel stays one function: inlining hundreds of kernels into the
  // entry point (an unrolled LSTM has ~10 per step) makes O3's cost superlinear, and a
  // call per kernel costs nothing next to its work.
  f->addFnAttr(llvm::Attribute::NoInline);
  const char* names[] = {"constants", "state", "arena", "n", "seed", "step", "training"};
  for (unsigned i = 0; i < params.size(); i++) f->getArg(i)->setName(names[i]);
  for (unsigned r = 0; r < 3; r++) f->addParamAttr(r, llvm::Attribute::NoAlias); // distinct allocations
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", f));
  RunArgs r{{f->getArg(0), f->getArg(1), f->getArg(2)}, f->getArg(3), f->getArg(4), f->getArg(5), f->getArg(6)};
  int loops = 0;
  emit_steps(k.steps, r, k.c_name, loops);
  b_.CreateRetVoid();
  return f;
}

void ModuleBuilder::emit_steps(const std::vector<Step>& steps, const RunArgs& r, const std::string& kernel, int& loops) {
  for (const Step& s : steps) {
    if (s.kind == StepKind::call) emit_call(s.call, r);
    else if (s.kind == StepKind::loop) emit_loop(s.loop, r, fmt::format("{}.loop{}", kernel, loops++));
    else emit_repeat(s.repeat, r, kernel, loops);
  }
}

// A counted loop in the kernel's function: step = 0 .. trip-1, t = step (or trip-1-step),
// around the Repeat's steps.
void ModuleBuilder::emit_repeat(const Repeat& rep, RunArgs r, const std::string& kernel, int& loops) {
  llvm::Function* f = b_.GetInsertBlock()->getParent();
  llvm::BasicBlock* before = b_.GetInsertBlock();
  auto* body = llvm::BasicBlock::Create(ctx_, rep.name + ".step", f);
  auto* done = llvm::BasicBlock::Create(ctx_, rep.name + ".done", f);
  b_.CreateBr(body);
  b_.SetInsertPoint(body);
  llvm::PHINode* step = b_.CreatePHI(i64(), 2, "step");
  step->addIncoming(b_.getInt64(0), before);
  r.t = rep.reverse ? b_.CreateSub(b_.getInt64(rep.trip - 1), step, "t", true, true) : step;
  emit_steps(rep.steps, r, kernel, loops);
  Value* next = b_.CreateAdd(step, b_.getInt64(1), "step.next", true, true);
  step->addIncoming(next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpULT(next, b_.getInt64(rep.trip)), body, done);
  b_.SetInsertPoint(done);
}

void ModuleBuilder::emit_call(const Call& c, const RunArgs& r) {
  std::vector<llvm::Type*> types;
  std::vector<Value*> values;
  for (const Arg& a : c.args) {
    switch (a.kind) {
    case ArgKind::pointer: values.push_back(address(r, a.ref)); break;
    case ArgKind::null: values.push_back(llvm::ConstantPointerNull::get(b_.getPtrTy())); break;
    case ArgKind::integer: {
      const Extent& e = a.integer;
      Value* per = b_.getInt64(e.per);
      values.push_back(!e.batched ? per : e.per == 1 ? r.n : b_.CreateMul(per, r.n, a.name, true, true));
      break;
    }
    case ArgKind::real: values.push_back(llvm::ConstantFP::get(b_.getFloatTy(), float(a.real))); break;
    case ArgKind::run_value:
      values.push_back(a.run == RunValue::seed ? r.seed
                       : a.run == RunValue::step ? r.step
                                                 : b_.CreateZExt(r.training, i64()));
      break;
    }
    types.push_back(values.back()->getType());
  }
  auto* fty = llvm::FunctionType::get(b_.getVoidTy(), types, false);
  if (llvm::Function* old = m_->getFunction(c.fn); old && old->getFunctionType() != fty)
    throw Error(fmt::format("LLVM backend: runtime function '{}' called with two different signatures", c.fn));
  llvm::FunctionCallee fn = m_->getOrInsertFunction(c.fn, fty);
  if (auto* decl = llvm::dyn_cast<llvm::Function>(fn.getCallee())) decl->setDoesNotThrow();
  b_.CreateCall(fn, values);
}

// Operands whose bytes no other operand of the loop touches may be `noalias`.
std::vector<bool> disjoint_operands(const Program& p, const Loop& loop) {
  int64_t trip = loop.trip.at(p.batch);
  std::vector<std::pair<int64_t, int64_t>> range;
  std::vector<passes::Region> region;
  for (const Operand& o : loop.operands) {
    Program::Place at = p.place(o.ref);
    int64_t size = ir::dtype_size(o.ref.dtype);
    if (o.step_stride) { // it moves with the steps of a Repeat: any part of its buffer
      const passes::Buffer& b = p.buffers[size_t(o.ref.buffer)];
      range.push_back({b.offset, b.offset + b.bytes});
    } else {
      range.push_back({at.offset, at.offset + (max_offset(o.index, trip) + 1) * size});
    }
    region.push_back(at.region);
  }
  std::vector<bool> out(loop.operands.size(), true);
  for (size_t i = 0; i < range.size(); i++)
    for (size_t j = 0; j < range.size(); j++)
      if (i != j && region[i] == region[j] && range[i].first < range[j].second && range[j].first < range[i].second)
        out[i] = false;
  return out;
}

// void name(operand pointers..., i64 n, i64 seed, i64 step, i32 training, i64 begin, i64 end):
// the loop over block [begin, end) of its nest's outermost axis.
llvm::Function* ModuleBuilder::loop_function(const Loop& loop, const std::string& name) {
  std::vector<llvm::Type*> params(loop.operands.size(), ptr());
  params.insert(params.end(), {i64(), i64(), i64(), b_.getInt32Ty(), i64(), i64()});
  auto* f = llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), params, false),
                                   llvm::Function::InternalLinkage, name, *m_);
  f->setDoesNotThrow();
  std::vector<bool> disjoint = disjoint_operands(l_, loop);
  for (unsigned i = 0; i < loop.operands.size(); i++) {
    f->getArg(i)->setName(loop.operands[i].name);
    if (disjoint[i]) f->addParamAttr(i, llvm::Attribute::NoAlias);
  }
  const char* names[] = {"n", "seed", "step", "training", "begin", "end"};
  for (unsigned i = 0; i < 6; i++) f->getArg(unsigned(loop.operands.size()) + i)->setName(names[i]);
  return f;
}

// void name.task(ptr ctx, i64 begin, i64 end): the loop function over one block, with its
// other arguments read from ctx (8-byte slots: operand pointers, n, seed, step, training),
// as dlc_rt_parallel_for calls it on each thread.
llvm::Function* ModuleBuilder::task_function(const Loop& loop, llvm::Function* body, const std::string& name) {
  auto* f = llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), {ptr(), i64(), i64()}, false),
                                   llvm::Function::InternalLinkage, name + ".task", *m_);
  f->setDoesNotThrow();
  llvm::IRBuilderBase::InsertPointGuard guard(b_);
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", f));
  std::vector<Value*> args;
  size_t k = loop.operands.size();
  for (size_t i = 0; i < k + 4; i++) {
    Value* slot = b_.CreateInBoundsGEP(i64(), f->getArg(0), b_.getInt64(int64_t(i)));
    Value* v = b_.CreateLoad(i < k ? ptr() : i64(), slot);
    args.push_back(i == k + 3 ? b_.CreateTrunc(v, b_.getInt32Ty()) : v);
  }
  args.push_back(f->getArg(1));
  args.push_back(f->getArg(2));
  b_.CreateCall(body, args);
  b_.CreateRetVoid();
  return f;
}

void ModuleBuilder::emit_loop(const Loop& loop, const RunArgs& r, const std::string& name) {
  llvm::Function* f = loop_function(loop, name);
  std::vector<Index> indexes;
  for (const Operand& o : loop.operands) indexes.push_back(o.index);
  Extent outer = outer_extent(loop.trip, indexes);
  Value* outer_count = outer.batched ? b_.CreateMul(b_.getInt64(outer.per), r.n, "", true, true) : b_.getInt64(outer.per);
  std::vector<Value*> args;
  for (const Operand& o : loop.operands) args.push_back(operand_address(r, o));
  args.insert(args.end(), {r.n, r.seed, r.step, r.training});
  if (loop.grain > 0 && outer.at(l_.batch) > 1) {
    // Split across the kernel pool: blocks of the outermost axis of >= grain elements.
    int64_t grain = passes::outer_grain(loop, outer, l_.batch);
    llvm::Function* task = task_function(loop, f, name);
    llvm::IRBuilder<> entry(&b_.GetInsertBlock()->getParent()->getEntryBlock(),
                            b_.GetInsertBlock()->getParent()->getEntryBlock().begin());
    Value* ctx = entry.CreateAlloca(i64(), b_.getInt64(int64_t(args.size())), "loop.ctx");
    for (size_t i = 0; i < args.size(); i++) {
      Value* v = args[i]->getType() == b_.getInt32Ty() ? b_.CreateZExt(args[i], i64()) : args[i];
      b_.CreateStore(v, b_.CreateInBoundsGEP(i64(), ctx, b_.getInt64(int64_t(i))));
    }
    auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {ptr(), ptr(), i64(), i64()}, false);
    llvm::FunctionCallee pf = m_->getOrInsertFunction("dlc_rt_parallel_for", fty);
    b_.CreateCall(pf, {task, ctx, outer_count, b_.getInt64(grain)});
  } else {
    args.insert(args.end(), {b_.getInt64(0), outer_count});
    b_.CreateCall(f, args);
  }
  llvm::IRBuilderBase::InsertPointGuard guard(b_);
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", f));
  size_t k = loop.operands.size();
  llvm::FastMathFlags fmf;
  fmf.setAllowContract(opts_.contract);
  b_.setFastMathFlags(fmf);
  ElementEnv env{nullptr, f->getArg(unsigned(k + 1)), f->getArg(unsigned(k + 2)), f->getArg(unsigned(k + 3))};
  OuterRange range{f->getArg(unsigned(k + 4)), f->getArg(unsigned(k + 5))};
  emit_loop_nest(
      b_, loop.trip, indexes, f->getArg(unsigned(k)),
      [&](const LoopElement& e) {
        ElementEnv at = env;
        at.index = e.index;
        loop_body(loop, f, e, at);
      },
      &range);
  b_.CreateRetVoid();
  b_.clearFastMathFlags();
}

void ModuleBuilder::loop_body(const Loop& loop, llvm::Function* f, const LoopElement& e, const ElementEnv& env) {
  auto element = [&](int operand) {
    llvm::Type* t = elem_type(loop.operands[size_t(operand)].ref.dtype);
    return std::make_pair(t, b_.CreateInBoundsGEP(t, f->getArg(unsigned(operand)), e.offsets[size_t(operand)]));
  };
  std::vector<Value*> vals;
  std::map<int, std::vector<Value*>> results; // op expression -> all its results
  llvm::IRBuilder<> entry(&f->getEntryBlock(), f->getEntryBlock().begin());
  for (const ScalarExpr& s : loop.body) {
    if (s.kind == ScalarExpr::read) {
      auto [t, p] = element(s.operand);
      vals.push_back(b_.CreateLoad(t, p));
    } else if (s.kind == ScalarExpr::project) {
      vals.push_back(results.at(s.args[0]).at(size_t(s.result)));
    } else {
      std::vector<Value*> args;
      for (int a : s.args) args.push_back(vals[size_t(a)]);
      for (Value* a : args)
        if (!a->getType()->isFloatTy())
          throw Error(fmt::format("LLVM backend: element-wise op '{}' on a non-f32 operand", s.op_name));
      std::vector<Value*> out = scalars_.call(b_, entry, s, args, env);
      results[int(vals.size())] = out;
      vals.push_back(out[0]);
    }
  }
  for (const LoopStore& st : loop.stores) {
    auto [t, p] = element(st.operand);
    Value* v = vals[size_t(st.expr)];
    if (v->getType() != t)
      throw Error(fmt::format("LLVM backend: loop stores a value of another type into '{}'", loop.operands[size_t(st.operand)].name));
    b_.CreateStore(v, p);
  }
}

} // namespace

std::unique_ptr<llvm::Module> build_module(const Program& l, llvm::LLVMContext& ctx, const std::string& entry,
                                           const ModuleOptions& opts) {
  return ModuleBuilder(l, ctx, opts).build(entry);
}

} // namespace dlc::codegen::llvmgen
