#include "passes/loop_axes.h"

#include <algorithm>
#include <set>

namespace dlc::passes {

namespace {

// The axes (outermost first) of a loop whose index divisors form a chain, or nothing.
std::optional<std::vector<LoopAxis>> chain_axes(Extent trip, const std::vector<Index>& operands) {
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
  std::vector<LoopAxis> inner_first;
  for (size_t j = 0; j < b.size(); j++) {
    bool outermost = j + 1 == b.size();
    Extent e{outermost ? trip.per / b[j] : b[j + 1] / b[j], outermost && trip.batched};
    LoopAxis a{e, {b[j]}};
    for (const Index& idx : operands) {
      int64_t s = 0;
      for (const IndexTerm& t : idx.terms)
        if (t.div <= b[j] && (t.mod == 0 || b[j] < t.div * t.mod)) s += b[j] / t.div * t.mul;
      a.strides.push_back(s);
    }
    inner_first.push_back(std::move(a));
  }
  return std::vector<LoopAxis>(inner_first.rbegin(), inner_first.rend());
}

// Drops single-iteration axes and merges an axis into the next inner one where every
// stride vector walks them as one.
std::vector<LoopAxis> merge_axes(const std::vector<LoopAxis>& axes) {
  std::vector<LoopAxis> out;
  for (const LoopAxis& a : axes) {
    if (a.extent.per == 1 && !a.extent.batched) continue;
    out.push_back(a);
  }
  for (size_t j = out.size(); j-- > 1;) {
    LoopAxis &outer = out[j - 1], &inner = out[j];
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

} // namespace

std::optional<std::vector<LoopAxis>> loop_axes(Extent trip, const std::vector<Index>& operands) {
  auto axes = chain_axes(trip, operands);
  if (!axes) return std::nullopt;
  std::vector<LoopAxis> merged = merge_axes(*axes);
  if (merged.empty()) merged.push_back(LoopAxis{Extent::fixed(1), std::vector<int64_t>(operands.size() + 1, 0)});
  return merged;
}

Extent outer_extent(Extent trip, const std::vector<Index>& operands) {
  auto axes = loop_axes(trip, operands);
  return axes ? axes->front().extent : trip;
}

int64_t outer_grain(const Loop& loop, Extent outer, int64_t batch) {
  int64_t per_outer = std::max<int64_t>(1, loop.trip.at(batch) / outer.at(batch));
  return std::max<int64_t>(1, (loop.grain + per_outer - 1) / per_outer);
}

int64_t max_offset(const Index& index, int64_t trip) {
  int64_t m = 0;
  for (const IndexTerm& t : index.terms) {
    int64_t reach = t.mod ? std::min(t.mod, (trip + t.div - 1) / t.div) : (trip + t.div - 1) / t.div;
    m += std::max<int64_t>(reach - 1, 0) * std::max<int64_t>(t.mul, 0);
  }
  return m;
}

} // namespace dlc::passes
