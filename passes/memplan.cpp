// Memory planning; see memplan.h for the rules.
#include "passes/memplan.h"

#include <algorithm>
#include <functional>
#include <set>

namespace dlc::passes {

using ir::ValueId;

int64_t align_up(int64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

namespace {

// Sequential, aligned offsets in the constant and state regions.
void place_fixed_regions(Program& p) {
  for (Region r : {Region::constants, Region::state}) {
    int64_t at = 0;
    for (Buffer& b : p.buffers)
      if (b.region == r && b.parent < 0) b.offset = at, at += b.size;
    p.region_size[size_t(r)] = at;
  }
}

void compute_liveness(Program& p) {
  int last_step = std::max<int>(0, int(p.kernels.size()) - 1);
  for (Buffer& b : p.buffers) b.first = b.last = -1;
  for (size_t s = 0; s < p.kernels.size(); s++)
    for (ValueId o : p.kernels[s].outputs) {
      Buffer& b = p.buffers[size_t(p.buffer_of[size_t(o)])];
      if (b.first < 0) b.first = int(s);
    }
  for (ValueId v : p.graph.inputs()) p.buffers[size_t(p.buffer_of[size_t(v)])].first = 0;
  for (Buffer& b : p.buffers) b.last = std::max(b.first, 0), b.first = std::max(b.first, 0);
  for (size_t s = 0; s < p.kernels.size(); s++)
    for (ValueId in : p.kernels[s].inputs) {
      Buffer& b = p.buffers[size_t(p.buffer_of[size_t(in)])];
      b.last = std::max(b.last, int(s));
    }
  for (auto& o : p.graph.outputs()) p.buffers[size_t(p.buffer_of[size_t(o.value)])].last = last_step;
  if (p.loop_body) // the loop writes the next step's inputs after the body's last kernel
    for (ValueId v : p.graph.inputs()) p.buffers[size_t(p.buffer_of[size_t(v)])].last = last_step;
  // A kernel's temporaries and workspace live while it runs.
  for (Buffer& b : p.buffers)
    if (b.kind != BufferKind::value) b.first = b.last = p.kernel_index(b.kernel);
  for (Buffer& b : p.buffers)
    if (b.region != Region::arena) b.first = 0, b.last = last_step;
}

bool is_output_buffer(const Program& p, int b) {
  for (auto& o : p.graph.outputs())
    if (p.buffer_of[size_t(o.value)] == b) return true;
  return false;
}

// Every read of buffer `b` in kernel k is a same-indexed body load of b's type.
bool is_input_buffer(const Program& p, int b) {
  for (ValueId v : p.graph.inputs())
    if (p.buffer_of[size_t(v)] == b) return true;
  return false;
}

bool read_elementwise_only(const Program& p, const Kernel& k, int b) {
  for (int a : k.anchors)
    for (ValueId o : p.graph.node(a).operands)
      if (p.buffer_of[size_t(o)] == b) return false;
  for (const Expr& e : k.body)
    if (e.kind == Expr::load && p.buffer_of[size_t(e.value)] == b &&
        (e.index != LoadIndex::same || e.type != p.buffers[size_t(b)].type))
      return false;
  return true;
}

// Links each in-place output buffer to the input buffer it takes over.
void link_in_place(Program& p) {
  std::vector<bool> taken(p.buffers.size(), false);
  for (size_t s = 0; s < p.kernels.size(); s++) {
    const Kernel& k = p.kernels[s];
    for (auto [o, i] : k.in_place) {
      int ob = p.buffer_of[size_t(k.outputs[size_t(o)])], ib = p.buffer_of[size_t(k.inputs[size_t(i)])];
      if (ob < 0 || ib < 0 || ob == ib || taken[size_t(ib)]) continue;
      const Buffer &O = p.buffers[size_t(ob)], &I = p.buffers[size_t(ib)];
      if (O.region != Region::arena || I.region != Region::arena || I.last != int(s) ||
          O.first != int(s) || O.size != I.size || O.reuses >= 0 || is_output_buffer(p, ib) ||
          (p.loop_body && is_input_buffer(p, ib)) ||
          !read_elementwise_only(p, k, ib))
        continue;
      p.buffers[size_t(ob)].reuses = ib;
      taken[size_t(ib)] = true;
    }
  }
}

struct Allocation {
  int64_t size = 0;
  int first = 0, last = 0;
  std::vector<int> buffers; // a chain of in-place buffers
  int64_t offset = 0;
};

std::vector<Allocation> allocations(const Program& p) {
  std::vector<int> next(p.buffers.size(), -1);
  for (size_t b = 0; b < p.buffers.size(); b++)
    if (p.buffers[b].reuses >= 0) next[size_t(p.buffers[b].reuses)] = int(b);
  std::vector<Allocation> out;
  for (size_t b = 0; b < p.buffers.size(); b++) {
    const Buffer& head = p.buffers[b];
    if (head.region != Region::arena || head.reuses >= 0 || head.parent >= 0) continue;
    Allocation a;
    a.first = head.first;
    for (int c = int(b); c >= 0; c = next[size_t(c)]) {
      a.buffers.push_back(c);
      a.size = std::max(a.size, p.buffers[size_t(c)].size);
      a.last = p.buffers[size_t(c)].last;
    }
    out.push_back(std::move(a));
  }
  return out;
}

int64_t lower_bound(const std::vector<Allocation>& allocs, int steps) {
  std::vector<int64_t> live(size_t(std::max(steps, 1)) + 1, 0);
  for (const Allocation& a : allocs) {
    live[size_t(a.first)] += a.size;
    live[size_t(a.last) + 1] -= a.size;
  }
  int64_t best = 0, at = 0;
  for (int64_t d : live) best = std::max(best, at += d);
  return best;
}

bool overlap_in_time(const Allocation& a, const Allocation& b) {
  return a.first <= b.last && b.first <= a.last;
}

// Places allocations in `order`, each at the lowest (first fit) or tightest (best fit)
// gap among the allocations already placed that live at the same time.
int64_t pack(std::vector<Allocation>& allocs, const std::vector<int>& order, bool best_fit) {
  std::vector<int> placed;
  int64_t top = 0;
  for (int i : order) {
    Allocation& a = allocs[size_t(i)];
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int j : placed)
      if (overlap_in_time(a, allocs[size_t(j)]))
        busy.push_back({allocs[size_t(j)].offset, allocs[size_t(j)].offset + allocs[size_t(j)].size});
    std::sort(busy.begin(), busy.end());
    int64_t at = 0, chosen = -1, chosen_gap = 0;
    for (auto [lo, hi] : busy) {
      int64_t gap = lo - at;
      if (gap >= a.size && (chosen < 0 || (best_fit && gap < chosen_gap))) {
        chosen = at, chosen_gap = gap;
        if (!best_fit) break;
      }
      at = std::max(at, hi);
    }
    a.offset = chosen >= 0 ? chosen : at;
    top = std::max(top, a.offset + a.size);
    placed.push_back(i);
  }
  return top;
}

// An order in which to place allocations: the indices of `allocs`.
struct PackingOrder {
  const char* name;
  std::function<std::vector<int>(const std::vector<Allocation>&)> order;
};

std::vector<int> sorted_by(const std::vector<Allocation>& allocs,
                           const std::function<bool(const Allocation&, const Allocation&)>& before) {
  std::vector<int> order(allocs.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = int(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return before(allocs[size_t(a)], allocs[size_t(b)]); });
  return order;
}

// Peak first (TFLite's "greedy by breadth"): the steps in decreasing order of live bytes;
// at each, the allocations live there (largest first) that are not placed yet. The
// fullest step is packed tightly before anything can fragment it.
std::vector<int> peak_first(const std::vector<Allocation>& allocs) {
  int steps = 0;
  for (const Allocation& a : allocs) steps = std::max(steps, a.last + 1);
  std::vector<int64_t> live(size_t(steps), 0);
  for (const Allocation& a : allocs)
    for (int s = a.first; s <= a.last; s++) live[size_t(s)] += a.size;
  std::vector<int> by_live(static_cast<size_t>(steps));
  for (int s = 0; s < steps; s++) by_live[size_t(s)] = s;
  std::stable_sort(by_live.begin(), by_live.end(), [&](int a, int b) { return live[size_t(a)] > live[size_t(b)]; });
  std::vector<int> by_size = sorted_by(allocs, [](const Allocation& a, const Allocation& b) { return a.size > b.size; });
  std::vector<bool> done(allocs.size(), false);
  std::vector<int> order;
  for (int s : by_live)
    for (int i : by_size)
      if (!done[size_t(i)] && allocs[size_t(i)].first <= s && s <= allocs[size_t(i)].last) {
        done[size_t(i)] = true;
        order.push_back(i);
      }
  return order;
}

std::vector<PackingOrder> packing_orders() {
  auto length = [](const Allocation& a) { return int64_t(a.last - a.first + 1); };
  return {
      {"size", [](auto& al) { return sorted_by(al, [](auto& a, auto& b) { return a.size > b.size; }); }},
      {"peak first", peak_first},
      {"start", [](auto& al) {
         return sorted_by(al, [](auto& a, auto& b) { return a.first < b.first || (a.first == b.first && a.size > b.size); });
       }},
      {"lifetime", [=](auto& al) {
         return sorted_by(al, [=](auto& a, auto& b) {
           return length(a) > length(b) || (length(a) == length(b) && a.size > b.size);
         });
       }},
      {"area", [=](auto& al) {
         return sorted_by(al, [=](auto& a, auto& b) { return a.size * length(a) > b.size * length(b); });
       }},
  };
}

struct Packing {
  int64_t top = -1;
  std::vector<int> order;
  bool best_fit = false;
  std::string name;
};

// Local search from a packing: an allocation that ends above the lower bound is moved
// earlier in the order (so it is placed before what blocked it), at each earlier position
// in turn; a move is kept when the arena shrinks. Deterministic; stops at the lower
// bound, when no move helps, or when `budget` trial packings are spent.
void improve(std::vector<Allocation>& allocs, Packing& best, int64_t bound, int64_t& budget) {
  bool moved = true;
  while (moved && best.top > bound && budget > 0) {
    moved = false;
    pack(allocs, best.order, best.best_fit);
    std::vector<size_t> culprits;
    for (size_t at = 0; at < best.order.size(); at++)
      if (allocs[size_t(best.order[at])].offset + allocs[size_t(best.order[at])].size > bound) culprits.push_back(at);
    for (size_t c = 0; c < culprits.size() && !moved && budget > 0; c++)
      for (size_t to = culprits[c]; to-- > 0 && !moved && budget > 0; budget--) {
        std::vector<int> order = best.order;
        int item = order[culprits[c]];
        order.erase(order.begin() + long(culprits[c]));
        order.insert(order.begin() + long(to), item);
        int64_t top = pack(allocs, order, best.best_fit);
        if (top < best.top) {
          best.top = top, best.order = std::move(order), moved = true;
          if (best.name.find("improved") == std::string::npos) best.name += ", improved";
        }
      }
  }
}

// Every order with first fit and best fit; then local search from the best candidates
// first, until one reaches the lower bound (nothing can beat it) or the search budget is
// spent. A packing costs about n^2 steps for n allocations: the whole search is bounded
// by ~4e7 of them (a recurrent model of 600 buffers plans in a fraction of a second).
void pack_arena(Program& p) {
  std::vector<Allocation> allocs = allocations(p);
  p.lower_bound = lower_bound(allocs, int(p.kernels.size()));
  std::vector<Packing> cands;
  for (const PackingOrder& po : packing_orders())
    for (bool best_fit : {false, true}) {
      Packing cand{0, po.order(allocs), best_fit, fmt::format("{}, {}", po.name, best_fit ? "best fit" : "first fit")};
      cand.top = pack(allocs, cand.order, best_fit);
      cands.push_back(std::move(cand));
    }
  std::stable_sort(cands.begin(), cands.end(), [](const Packing& a, const Packing& b) { return a.top < b.top; });
  int64_t n = std::max<int64_t>(1, int64_t(allocs.size()));
  int64_t budget = std::clamp<int64_t>(40000000 / (n * n), 20, 4000);
  Packing best = cands.front();
  for (Packing& cand : cands) {
    if (best.top <= p.lower_bound || budget <= 0) break;
    improve(allocs, cand, p.lower_bound, budget);
    if (cand.top < best.top) best = cand;
  }
  pack(allocs, best.order, best.best_fit);
  for (const Allocation& a : allocs)
    for (int b : a.buffers) p.buffers[size_t(b)].offset = a.offset;
  p.region_size[size_t(Region::arena)] = std::max<int64_t>(best.top, 0);
  p.packing = best.name;
}

// A loop body's buffers lie where the body's plan put them inside their parent.
void place_body_buffers(Program& p) {
  for (Buffer& b : p.buffers)
    if (b.parent >= 0) {
      const Buffer& parent = p.buffers[size_t(b.parent)];
      b.region = parent.region;
      b.offset = parent.offset + b.parent_offset;
    }
}

} // namespace

void plan_memory(Program& p) {
  if (!p.scheduled) throw Error("memplan: the kernels have not been scheduled");
  if (!p.lowered) throw Error("memplan: the kernels have not been lowered");
  place_fixed_regions(p);
  compute_liveness(p);
  link_in_place(p);
  pack_arena(p);
  place_body_buffers(p);
  p.planned = true;
}

} // namespace dlc::passes
