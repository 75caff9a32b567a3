#include "passes/schedule.h"

#include "passes/memplan.h"

#include <algorithm>
#include <functional>

namespace dlc::passes {

using ir::ValueId;

namespace {

// What the simulation needs per kernel: arena bytes it allocates, buffers it reads.
struct MemoryModel {
  std::vector<int64_t> bytes;          // per base value: aligned arena bytes, 0 if not arena
  std::vector<std::vector<int>> reads; // per kernel position: base values read (arena)
  std::vector<std::vector<int>> writes;// per kernel position: base values written (arena)
  std::vector<int> readers;            // per base value: number of kernels reading it
  std::vector<bool> pinned;            // per base value: a graph output (live to the end)
  int64_t initial = 0;                 // graph inputs, live from the start

  explicit MemoryModel(const Program& p) {
    const ir::Graph& g = p.graph;
    size_t nv = g.values().size();
    bytes.assign(nv, 0);
    readers.assign(nv, 0);
    pinned.assign(nv, false);
    std::vector<bool> in_state(nv, false);
    for (const UpdateWrite& u : p.update_writes)
      if (!u.copy) in_state[size_t(u.value)] = true;
    for (ValueId v : g.inputs()) {
      bytes[size_t(v)] = align_up(g.type(v).bytes());
      initial += bytes[size_t(v)];
    }
    for (auto& o : g.outputs()) pinned[size_t(base_value(g, o.value))] = true;
    for (const Kernel& k : p.kernels) {
      std::vector<int> w, r;
      for (ValueId o : k.outputs)
        if (g.value(o).kind == ir::ValueKind::result && !in_state[size_t(o)] && !k.prepare) {
          bytes[size_t(o)] = align_up(g.type(o).bytes());
          w.push_back(o);
        }
      for (ValueId in : k.inputs) {
        ValueId b = base_value(g, in);
        if (std::find(r.begin(), r.end(), b) == r.end()) r.push_back(b);
      }
      for (int b : r) readers[size_t(b)]++;
      writes.push_back(std::move(w));
      reads.push_back(std::move(r));
    }
  }
};

struct Simulation {
  const MemoryModel& m;
  std::vector<int> left; // readers not yet run, per value
  int64_t live;
  explicit Simulation(const MemoryModel& mm) : m(mm), left(mm.readers), live(mm.initial) {}

  int64_t allocates(int k) const {
    int64_t a = 0;
    for (int v : m.writes[size_t(k)]) a += m.bytes[size_t(v)];
    return a;
  }
  int64_t frees(int k) const {
    int64_t f = 0;
    for (int v : m.reads[size_t(k)])
      if (left[size_t(v)] == 1 && !m.pinned[size_t(v)]) f += m.bytes[size_t(v)];
    for (int v : m.writes[size_t(k)]) // written and never read
      if (m.readers[size_t(v)] == 0 && !m.pinned[size_t(v)]) f += m.bytes[size_t(v)];
    return f;
  }
  // Runs kernel k; returns the bytes live during it.
  int64_t run(int k) {
    int64_t during = live + allocates(k);
    live = during - frees(k);
    for (int v : m.reads[size_t(k)]) left[size_t(v)]--;
    return during;
  }
};

using Picker = std::function<int(const std::vector<int>& ready, const Simulation&, int last)>;

// List scheduling: repeatedly runs the kernel `pick` chooses among the ready ones.
std::vector<int> list_schedule(const Program& p, const MemoryModel& m, const Picker& pick) {
  auto deps = kernel_dependencies(p);
  size_t n = p.kernels.size();
  std::vector<std::vector<int>> users(n);
  std::vector<int> waiting(n, 0);
  for (size_t k = 0; k < n; k++) {
    waiting[k] = int(deps[k].size());
    for (int d : deps[k]) users[size_t(d)].push_back(int(k));
  }
  std::vector<int> ready, order;
  for (size_t k = 0; k < n; k++)
    if (!waiting[k]) ready.push_back(int(k));
  Simulation sim(m);
  int last = -1;
  while (!ready.empty()) {
    std::sort(ready.begin(), ready.end());
    int k = pick(ready, sim, last);
    ready.erase(std::find(ready.begin(), ready.end(), k));
    sim.run(k);
    order.push_back(k);
    last = k;
    for (int u : users[size_t(k)])
      if (--waiting[size_t(u)] == 0) ready.push_back(u);
  }
  if (order.size() != n) throw Error("schedule: the kernels depend on each other in a cycle");
  return order;
}

int least_growth(const std::vector<int>& ready, const Simulation& sim) {
  int best = ready[0];
  int64_t best_net = sim.allocates(best) - sim.frees(best);
  for (int k : ready) {
    int64_t net = sim.allocates(k) - sim.frees(k);
    if (net < best_net) best = k, best_net = net;
  }
  return best;
}

int64_t peak(const std::vector<int64_t>& live) {
  return live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

} // namespace

std::vector<int64_t> live_bytes(const Program& p, const std::vector<int>& order) {
  MemoryModel m(p);
  Simulation sim(m);
  std::vector<int64_t> out;
  for (int k : order) out.push_back(sim.run(k));
  return out;
}

void schedule(Program& p) {
  MemoryModel m(p);
  std::vector<std::pair<const char*, Picker>> pickers = {
      {"program order", [](const std::vector<int>& ready, const Simulation&, int) { return ready[0]; }},
      {"greedy memory", [](const std::vector<int>& ready, const Simulation& s, int) { return least_growth(ready, s); }},
      {"depth first", [&m](const std::vector<int>& ready, const Simulation& s, int last) {
         if (last >= 0)
           for (int k : ready)
             for (int v : m.reads[size_t(k)])
               for (int w : m.writes[size_t(last)])
                 if (v == w) return k;
         return least_growth(ready, s);
       }},
  };
  std::vector<int> best;
  int64_t best_peak = 0;
  std::string peaks;
  for (auto& [name, pick] : pickers) {
    std::vector<int> order = list_schedule(p, m, pick);
    int64_t pk = peak(live_bytes(p, order));
    peaks += fmt::format("{}{} {}", peaks.empty() ? "" : ", ", name, pk);
    if (best.empty() || pk < best_peak) best = order, best_peak = pk, p.schedule_choice = name;
  }
  p.schedule_choice += " (peak live bytes: " + peaks + ")";
  // Weight preparation first: it runs before the calls, once per change of the weights.
  std::stable_partition(best.begin(), best.end(), [&](int k) { return p.kernels[size_t(k)].prepare; });
  std::vector<Kernel> ordered;
  for (int k : best) ordered.push_back(std::move(p.kernels[size_t(k)]));
  p.kernels = std::move(ordered);
  p.prepare_count = int(std::count_if(p.kernels.begin(), p.kernels.end(), [](const Kernel& k) { return k.prepare; }));
  p.scheduled = true;
}

void verify_schedule(const Program& p) {
  auto deps = kernel_dependencies(p);
  for (size_t k = 0; k < deps.size(); k++)
    for (int d : deps[k])
      if (d >= int(k))
        throw Error(fmt::format("schedule: kernel {} runs before kernel {} it depends on",
                                p.kernels[k].name, p.kernels[size_t(d)].name));
}

} // namespace dlc::passes
