#include "codegen/llvm/loop_nest.h"


namespace dlc::codegen::llvmgen {

using llvm::Value;
using passes::LoopAxis;
using passes::loop_axes;

namespace {

Value* extent_value(llvm::IRBuilder<>& b, Extent e, Value* n) {
  if (!e.batched) return b.getInt64(e.per);
  return e.per == 1 ? n : b.CreateMul(b.getInt64(e.per), n, "", true, true);
}

// for (i = start; i < end; i++) inner(i). A count that may be 0 at run time (batched, or
// a block of a split loop) is tested first.
void counted_loop(llvm::IRBuilder<>& b, Value* start, Value* end, bool may_be_empty,
                  const std::function<void(Value*)>& inner) {
  llvm::Function* fn = b.GetInsertBlock()->getParent();
  llvm::LLVMContext& ctx = b.getContext();
  llvm::BasicBlock* loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "loop.end", fn);
  if (may_be_empty) b.CreateCondBr(b.CreateICmpSLT(start, end), loop, done);
  else b.CreateBr(loop);
  llvm::BasicBlock* pre = b.GetInsertBlock();
  b.SetInsertPoint(loop);
  llvm::PHINode* i = b.CreatePHI(b.getInt64Ty(), 2, "i");
  i->addIncoming(start, pre);
  inner(i);
  Value* next = b.CreateAdd(i, b.getInt64(1), "i.next", true, true);
  i->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpEQ(next, end), done, loop);
  b.SetInsertPoint(done);
}

// The loops of axes j.. around `body`; the outermost (j == 0) runs over `range` when one
// is given (a block of a split loop), else over its whole extent.
void nest(llvm::IRBuilder<>& b, const std::vector<LoopAxis>& axes, size_t j, std::vector<Value*> base, Value* n,
          const OuterRange* range, const std::function<void(const std::vector<Value*>&)>& body) {
  if (j == axes.size()) return body(base);
  const LoopAxis& a = axes[j];
  Value* start = j == 0 && range ? range->begin : b.getInt64(0);
  Value* end = j == 0 && range ? range->end : extent_value(b, a.extent, n);
  counted_loop(b, start, end, a.extent.batched || (j == 0 && range), [&](Value* i) {
    std::vector<Value*> at(base.size());
    for (size_t k = 0; k < base.size(); k++) {
      int64_t s = a.strides[k];
      if (s == 0) {
        at[k] = base[k];
        continue;
      }
      Value* step = s == 1 ? i : b.CreateMul(i, b.getInt64(s), "", true, true);
      auto* c = llvm::dyn_cast<llvm::ConstantInt>(base[k]);
      at[k] = c && c->isZero() ? step : b.CreateAdd(base[k], step, "", true, true);
    }
    nest(b, axes, j + 1, at, n, nullptr, body);
  });
}

// sum of ((i / div) % mod) * mul, literally.
Value* literal_offset(llvm::IRBuilder<>& b, const Index& idx, Value* i) {
  Value* o = b.getInt64(0);
  for (const IndexTerm& t : idx.terms) {
    Value* q = t.div == 1 ? i : b.CreateUDiv(i, b.getInt64(t.div));
    if (t.mod) q = b.CreateURem(q, b.getInt64(t.mod));
    o = b.CreateAdd(o, b.CreateMul(q, b.getInt64(t.mul)));
  }
  return o;
}

} // namespace

void emit_loop_nest(llvm::IRBuilder<>& b, Extent trip, const std::vector<Index>& operands, Value* n,
                    const std::function<void(const LoopElement&)>& body, const OuterRange* range) {
  if (auto axes = loop_axes(trip, operands)) {
    nest(b, *axes, 0, std::vector<Value*>(operands.size() + 1, b.getInt64(0)), n, range,
         [&](const std::vector<Value*>& at) { body({at[0], std::vector<Value*>(at.begin() + 1, at.end())}); });
    return;
  }
  Value* start = range ? range->begin : b.getInt64(0);
  Value* end = range ? range->end : extent_value(b, trip, n);
  counted_loop(b, start, end, trip.batched || range, [&](Value* i) {
    LoopElement e{i, {}};
    for (const Index& idx : operands) e.offsets.push_back(literal_offset(b, idx, i));
    body(e);
  });
}

} // namespace dlc::codegen::llvmgen
