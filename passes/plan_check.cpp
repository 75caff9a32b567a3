#include "passes/plan_check.h"

#include <algorithm>
#include <functional>
#include <map>

namespace dlc::passes {

using ir::ValueId;

namespace {

struct Checker {
  const Program& p;
  const ir::Graph& g;
  std::vector<std::string> problems;
  std::vector<int> first, last; // per buffer: recomputed live steps (-1: never written)

  template <typename... Args> void fail(fmt::format_string<Args...> f, Args&&... args) {
    problems.push_back(fmt::format(f, std::forward<Args>(args)...));
  }

  int buffer(ValueId v, const Kernel& k) {
    int b = v >= 0 && size_t(v) < p.buffer_of.size() ? p.buffer_of[size_t(v)] : -1;
    if (b < 0 || size_t(b) >= p.buffers.size()) fail("{}: %{} has no buffer", k.name, g.value(v).name);
    return b < 0 || size_t(b) >= p.buffers.size() ? -1 : b;
  }

  void check_layout() {
    for (const Buffer& b : p.buffers) {
      int64_t region = p.region_size[size_t(b.region)];
      if (b.offset % kAlignment) fail("buffer {}: offset {} is not {}-byte aligned", b.name, b.offset, kAlignment);
      if (b.offset < 0 || b.offset + b.bytes > region)
        fail("buffer {}: [{}, {}) is outside region {} of {} bytes", b.name, b.offset,
             b.offset + b.bytes, region_name(b.region), region);
      if (b.bytes != b.type.bytes()) fail("buffer {}: {} bytes for {}", b.name, b.bytes, b.type.str());
    }
  }

  void check_order() {
    auto deps = kernel_dependencies(p);
    for (size_t k = 0; k < deps.size(); k++)
      for (int d : deps[k])
        if (d >= int(k)) fail("{} runs before {}, which it depends on", p.kernels[k].name, p.kernels[size_t(d)].name);
  }

  // Recomputes liveness; checks reads follow writes and who writes where.
  void liveness() {
    size_t nb = p.buffers.size();
    int steps = int(p.kernels.size());
    first.assign(nb, -1);
    last.assign(nb, -1);
    for (ValueId v : g.inputs())
      if (p.buffer_of[size_t(v)] >= 0) first[size_t(p.buffer_of[size_t(v)])] = 0;
    for (int s = 0; s < steps; s++) {
      const Kernel& k = p.kernels[size_t(s)];
      for (ValueId in : k.inputs) {
        int b = buffer(in, k);
        if (b < 0 || p.buffers[size_t(b)].region != Region::arena) continue;
        if (first[size_t(b)] < 0)
          fail("{}: reads %{} before it is written", k.name, g.value(in).name);
        last[size_t(b)] = std::max(last[size_t(b)], s);
      }
      for (ValueId o : k.outputs) {
        int b = buffer(o, k);
        if (b < 0) continue;
        Region r = p.buffers[size_t(b)].region;
        if (r == Region::constants && !k.prepare) fail("{}: writes constant buffer {}", k.name, p.buffers[size_t(b)].name);
        if (r == Region::state && !is_update_writer(k, o)) fail("{}: writes state buffer {} outside an update", k.name, p.buffers[size_t(b)].name);
        if (r != Region::arena) continue;
        if (first[size_t(b)] >= 0 && first[size_t(b)] != s) fail("{}: buffer {} is written twice", k.name, p.buffers[size_t(b)].name);
        if (first[size_t(b)] < 0) first[size_t(b)] = s;
        last[size_t(b)] = std::max(last[size_t(b)], s);
      }
    }
    for (auto& o : g.outputs()) {
      int b = p.buffer_of[size_t(o.value)];
      if (b < 0) fail("output {} has no buffer", o.name);
      else if (p.buffers[size_t(b)].region == Region::arena) last[size_t(b)] = std::max(0, steps - 1);
    }
    // A kernel's temporaries and workspace: live at its step.
    for (size_t b = 0; b < nb; b++)
      if (p.buffers[b].kind != BufferKind::value) first[b] = last[b] = p.kernel_index(p.buffers[b].kernel);
    for (size_t b = 0; b < nb; b++)
      if (first[b] >= 0) last[b] = std::max(last[b], first[b]);
  }

  // Every pointer of the steps names a buffer, and a temporary or workspace only in the
  // kernel it belongs to.
  void check_steps() {
    for (const Kernel& k : p.kernels) {
      auto check = [&](const Ref& r) {
        if (r.buffer < 0 || size_t(r.buffer) >= p.buffers.size()) {
          fail("{}: a step points at no buffer ({})", k.name, r.buffer);
          return;
        }
        const Buffer& b = p.buffers[size_t(r.buffer)];
        if (b.kind != BufferKind::value && b.kernel != k.id) fail("{}: uses {}, which belongs to another kernel", k.name, b.name);
        if (r.offset < 0 || r.offset > b.bytes) fail("{}: points {} bytes into {} of {} bytes", k.name, r.offset, b.name, b.bytes);
      };
      std::function<void(const std::vector<Step>&)> walk = [&](const std::vector<Step>& steps) {
        for (const Step& st : steps) {
          for (const Arg& a : st.call.args)
            if (a.kind == ArgKind::pointer) check(a.ref);
          for (const Operand& o : st.loop.operands) check(o.ref);
          walk(st.repeat.steps);
        }
      };
      walk(k.steps);
    }
  }

  bool is_update_writer(const Kernel& k, ValueId o) const {
    for (const UpdateWrite& u : p.update_writes)
      if (u.kernel == k.id && (o == u.value || o == u.target)) return true;
    return false;
  }

  // In-place pair: `later` takes over `earlier`, declared by the kernel at their shared step.
  bool declared_in_place(int earlier, int later) const {
    const Buffer& L = p.buffers[size_t(later)];
    if (L.reuses != earlier || last[size_t(earlier)] != first[size_t(later)]) return false;
    if (L.offset != p.buffers[size_t(earlier)].offset || L.size != p.buffers[size_t(earlier)].size) return false;
    const Kernel& k = p.kernels[size_t(first[size_t(later)])];
    for (auto [o, i] : k.in_place)
      if (p.buffer_of[size_t(k.outputs[size_t(o)])] == later && p.buffer_of[size_t(k.inputs[size_t(i)])] == earlier)
        return true;
    return false;
  }

  // A loop body's buffers were checked by the body's own plan: here, that they lie in
  // their parent (the loop's body arena), which is planned like any temporary.
  void check_overlaps() {
    std::vector<int> arena;
    for (size_t b = 0; b < p.buffers.size(); b++) {
      const Buffer& B = p.buffers[b];
      if (B.parent >= 0) {
        const Buffer& P = p.buffers[size_t(B.parent)];
        if (B.region != P.region || B.offset < P.offset || B.offset + B.bytes > P.offset + P.bytes)
          fail("buffer {} [{}, {}) is outside its loop's body arena {} [{}, {})", B.name, B.offset,
               B.offset + B.bytes, P.name, P.offset, P.offset + P.bytes);
        continue;
      }
      if (B.region == Region::arena && first[b] >= 0) arena.push_back(int(b));
    }
    for (size_t x = 0; x < arena.size(); x++)
      for (size_t y = x + 1; y < arena.size(); y++) {
        int a = arena[x], b = arena[y];
        const Buffer &A = p.buffers[size_t(a)], &B = p.buffers[size_t(b)];
        bool in_time = first[size_t(a)] <= last[size_t(b)] && first[size_t(b)] <= last[size_t(a)];
        bool in_space = A.offset < B.offset + B.bytes && B.offset < A.offset + A.bytes;
        if (in_time && in_space && !declared_in_place(a, b) && !declared_in_place(b, a))
          fail("buffers {} [{}, {}) steps {}..{} and {} [{}, {}) steps {}..{} overlap", A.name, A.offset,
               A.offset + A.bytes, first[size_t(a)], last[size_t(a)], B.name, B.offset, B.offset + B.bytes,
               first[size_t(b)], last[size_t(b)]);
      }
  }

  // Every reader of an update target's old value runs before its writer, or is the
  // writer reading it element by element.
  void check_updates() {
    for (const UpdateWrite& u : p.update_writes) {
      int w = p.kernel_index(u.kernel);
      if (w < 0) {
        fail("update of %{}: writer kernel {} does not exist", g.value(u.target).name, u.kernel);
        continue;
      }
      if (!u.copy && p.buffer_of[size_t(u.value)] != p.buffer_of[size_t(u.target)])
        fail("update of %{}: %{} is not in the target's buffer", g.value(u.target).name, g.value(u.value).name);
      for (size_t s = 0; s < p.kernels.size(); s++)
        for (ValueId in : p.kernels[s].inputs) {
          if (base_value(g, in) != u.target) continue;
          if (int(s) > w) fail("{} reads %{} after {} overwrote it", p.kernels[s].name, g.value(u.target).name, p.kernels[size_t(w)].name);
          if (int(s) == w && !u.copy && !reads_elementwise(p.kernels[s], u.target))
            fail("{} overwrites %{} while reading it across elements", p.kernels[s].name, g.value(u.target).name);
        }
    }
  }

  bool reads_elementwise(const Kernel& k, ValueId target) const {
    for (int a : k.anchors)
      for (ValueId o : g.node(a).operands)
        if (base_value(g, o) == target) return false;
    for (const Expr& e : k.body)
      if (e.kind == Expr::load && base_value(g, e.value) == target && e.index != LoadIndex::same) return false;
    return true;
  }
};

} // namespace

std::vector<std::string> check_plan(const Program& p) {
  Checker c{p, p.graph, {}, {}, {}};
  if (!p.planned) return {"the program has not been planned"};
  if (p.buffer_of.size() != p.graph.values().size()) return {"buffer_of does not cover every value"};
  c.check_layout();
  c.check_steps();
  c.check_order();
  c.liveness();
  c.check_overlaps();
  c.check_updates();
  return c.problems;
}

void verify_plan(const Program& p) {
  auto problems = check_plan(p);
  if (problems.empty()) return;
  std::string msg = "unsound memory plan: " + problems[0];
  if (problems.size() > 1) msg += fmt::format(" (and {} more)", problems.size() - 1);
  throw Error(msg);
}

} // namespace dlc::passes
