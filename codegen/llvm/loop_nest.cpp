#include "codegen/llvm/loop_nest.h"

#include <algorithm>
#include <optional>
#include <set>

namespace dlc::codegen::llvmgen {

using llvm::Value;

namespace {

// One axis of the nest: `extent` iterations (per * n when batched); `strides[k]` is the
// step of stride-vector k (0: the flat index i, then one per operand).
struct Axis {
  Extent extent;
  std::vector<int64_t> strides;
};

// The axes (outermost first) of a loop whose index divisors form a chain, or nothing.
std::optional<std::vector<Axis>> chain_axes(Extent trip, const std::vector<Index>& operands) {
  std::set<int64_t> bounds{1};
  for (const Index& idx : operands)
    for (const IndexTerm& t : idx.terms) {
      if (t.div < 1 || t.mod < 0) return std::nullopt;
      bounds.insert(t.div);
      if (t.mod) bounds.insert(t.div * t.mod);
    }
  std::vector<int64_t> b(bounds.begin(), bounds.end());
  for (size_t j = 0; j + 1 < b.size(); j++)
    if (b[j + 1] % b[j]) return std::nullopt;
  if (trip.per % b.back()) return std::nullopt;
  std::vector<Axis> inner_first;
  for (size_t j = 0; j < b.size(); j++) {
    bool outermost = j + 1 == b.size();
    Extent e{outermost ? trip.per / b[j] : b[j + 1] / b[j], outermost && trip.batched};
    Axis a{e, {b[j]}};
    for (const Index& idx : operands) {
      int64_t s = 0;
      for (const IndexTerm& t : idx.terms)
        if (t.div <= b[j] && (t.mod == 0 || b[j] < t.div * t.mod)) s += b[j] / t.div * t.mul;
      a.strides.push_back(s);
    }
    inner_first.push_back(std::move(a));
  }
  return std::vector<Axis>(inner_first.rbegin(), inner_first.rend());
}

// Drops single-iteration axes and merges an axis into the next inner one where every
// stride vector walks them as one.
std::vector<Axis> merge_axes(const std::vector<Axis>& axes) {
  std::vector<Axis> out;
  for (const Axis& a : axes) {
    if (a.extent.per == 1 && !a.extent.batched) continue;
    out.push_back(a);
  }
  for (size_t j = out.size(); j-- > 1;) {
    Axis &outer = out[j - 1], &inner = out[j];
    if (inner.extent.batched) continue;
    bool merge = true;
    for (size_t k = 0; k < outer.strides.size() && merge; k++)
      merge = outer.strides[k] == inner.strides[k] * inner.extent.per;
    if (!merge) continue;
    inner.extent = {outer.extent.per * inner.extent.per, outer.extent.batched};
    out.erase(out.begin() + long(j - 1));
  }
  return out;
}

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
void nest(llvm::IRBuilder<>& b, const std::vector<Axis>& axes, size_t j, std::vector<Value*> base, Value* n,
          const OuterRange* range, const std::function<void(const std::vector<Value*>&)>& body) {
  if (j == axes.size()) return body(base);
  const Axis& a = axes[j];
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

// The nest's axes, outermost first: merged chain axes, or one flat axis walked with the
// literal index arithmetic (nullopt).
std::optional<std::vector<Axis>> nest_axes(Extent trip, const std::vector<Index>& operands) {
  auto axes = chain_axes(trip, operands);
  if (!axes) return std::nullopt;
  std::vector<Axis> merged = merge_axes(*axes);
  if (merged.empty()) merged.push_back(Axis{Extent::fixed(1), std::vector<int64_t>(operands.size() + 1, 0)});
  return merged;
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

Extent outer_extent(Extent trip, const std::vector<Index>& operands) {
  auto axes = nest_axes(trip, operands);
  return axes ? axes->front().extent : trip;
}

void emit_loop_nest(llvm::IRBuilder<>& b, Extent trip, const std::vector<Index>& operands, Value* n,
                    const std::function<void(const LoopElement&)>& body, const OuterRange* range) {
  if (auto axes = nest_axes(trip, operands)) {
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

int64_t max_offset(const Index& index, int64_t trip) {
  int64_t m = 0;
  for (const IndexTerm& t : index.terms) {
    int64_t reach = t.mod ? std::min(t.mod, (trip + t.div - 1) / t.div) : (trip + t.div - 1) / t.div;
    m += std::max<int64_t>(reach - 1, 0) * std::max<int64_t>(t.mul, 0);
  }
  return m;
}

} // namespace dlc::codegen::llvmgen
