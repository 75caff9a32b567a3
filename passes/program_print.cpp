// Text forms of a Program: `dlc show --emit=kernels|schedule|plan` and `dlc plan`.
#include "passes/program.h"
#include "passes/schedule.h"

#include <algorithm>
#include <fmt/format.h>

namespace dlc::passes {

static std::string counts_line(const Program& p) {
  std::string prepare = p.prepare_count ? fmt::format("prepare: the first {} kernels prepare the weights: they run "
                                                      "once after the parameters change, not in every call\n",
                                                      p.prepare_count)
                                        : "";
  return fmt::format("kernels: {} (from {} ops)\n{}", p.kernels.size(), p.fused_ops, prepare);
}

std::string print_kernels(const Program& p) {
  std::string out = counts_line(p);
  for (const Kernel& k : p.kernels) out += "\n" + print_kernel(p.graph, k);
  for (const UpdateWrite& u : p.update_writes)
    out += fmt::format("{}update %{} <- %{}: written by {}{}\n", &u == &p.update_writes[0] ? "\n" : "",
                       p.graph.value(u.target).name, p.graph.value(u.value).name,
                       p.kernels[size_t(p.kernel_index(u.kernel))].name, u.copy ? " (copy)" : " (in place)");
  return out;
}

std::string print_schedule(const Program& p) {
  std::vector<int> order(p.kernels.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = int(i);
  std::vector<int64_t> live = live_bytes(p, order);
  std::string out = counts_line(p);
  int64_t peak = live.empty() ? 0 : *std::max_element(live.begin(), live.end());
  out += fmt::format("peak live: {} bytes (before in-place reuse)\n", peak);
  if (!p.schedule_choice.empty()) out += fmt::format("order: {}\n", p.schedule_choice);
  for (size_t s = 0; s < p.kernels.size(); s++) {
    const Kernel& k = p.kernels[s];
    std::vector<std::string> outs;
    for (ir::ValueId o : k.outputs) outs.push_back("%" + p.graph.value(o).name);
    std::string written = fmt::format("{}", fmt::join(outs, ", "));
    out += fmt::format("{:4}  {:<40} -> {:<40} live {}{}\n", s, k.name, written, live[s], k.prepare ? " (prepare)" : "");
  }
  return out;
}

static std::string bar(const Buffer& b, size_t steps, size_t width) {
  if (steps == 0) return "";
  std::string s(std::min(steps, width), '.');
  for (size_t c = 0; c < s.size(); c++) {
    size_t lo = c * steps / s.size(), hi = (c + 1) * steps / s.size();
    if (int(lo) <= b.last && int(hi) > b.first) s[c] = '#';
  }
  return s;
}

std::string print_plan(const Program& p) {
  std::string out = plan_summary(p, 0);
  out += fmt::format("\ntimeline ({} steps; # = live):\n", p.kernels.size());
  std::vector<int> order;
  for (size_t b = 0; b < p.buffers.size(); b++) order.push_back(int(b));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const Buffer &A = p.buffers[size_t(a)], &B = p.buffers[size_t(b)];
    if (A.region != B.region) return A.region < B.region;
    return A.region == Region::arena ? A.first < B.first : false;
  });
  for (int i : order) {
    const Buffer& b = p.buffers[size_t(i)];
    std::string when = b.region == Region::arena ? fmt::format("{}..{}", b.first, b.last) : "always";
    out += fmt::format("  {:<9} {:>10} +{:<9} {:<9} {:<40} {}{}\n", region_name(b.region), b.offset,
                       b.bytes, when, b.name, b.region == Region::arena ? bar(b, p.kernels.size(), 60) : "",
                       b.reuses >= 0   ? fmt::format(" (in place of {})", p.buffers[size_t(b.reuses)].name)
                       : b.parent >= 0 ? fmt::format(" (inside {})", p.buffers[size_t(b.parent)].name)
                                       : "");
  }
  return out;
}

std::string plan_summary(const Program& p, int largest) {
  std::string out = "regions:\n";
  for (int r = 0; r < kRegions; r++) {
    int n = 0, inner = 0;
    for (const Buffer& b : p.buffers) (b.parent >= 0 ? inner : n) += int(b.region) == r;
    out += fmt::format("  {:<10} {:>12} bytes  {} buffers{}\n", region_name(Region(r)), p.region_size[size_t(r)], n,
                       inner ? fmt::format(" (and {} inside loop bodies)", inner) : "");
  }
  out += counts_line(p);
  double ratio = p.lower_bound > 0 ? double(p.arena_size()) / double(p.lower_bound) : 1.0;
  out += fmt::format("arena: {} bytes, lower bound: {} bytes, ratio: {:.3f}\n", p.arena_size(), p.lower_bound, ratio);
  out += "(both count every buffer the program touches: values, temporaries, workspaces)\n";
  out += fmt::format("packing: {}\n", p.packing);
  if (p.thread_workspace_bytes)
    out += fmt::format("threads: each kernel thread beyond the caller's adds {} bytes (its GEMM packing buffer, made "
                       "with the threads)\n",
                       p.thread_workspace_bytes);
  if (largest <= 0) return out;
  std::vector<int> order;
  for (size_t b = 0; b < p.buffers.size(); b++) order.push_back(int(b));
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return p.buffers[size_t(a)].bytes > p.buffers[size_t(b)].bytes; });
  out += "largest buffers:\n";
  order.erase(std::remove_if(order.begin(), order.end(), [&](int b) { return p.buffers[size_t(b)].parent >= 0; }),
              order.end()); // a loop body's buffers are inside its body arena, listed as one
  for (size_t i = 0; i < order.size() && int(i) < largest; i++) {
    const Buffer& b = p.buffers[size_t(order[i])];
    const char* kind = b.kind == BufferKind::workspace ? " (workspace)"
                       : b.kind != BufferKind::temporary ? ""
                       : b.value == ir::kNoValue ? " (a loop's body: its buffers, planned inside)"
                                                 : " (temporary)";
    out += fmt::format("  {:<40} {:<10} {:>12} bytes  {}{}\n", b.name, region_name(b.region), b.bytes,
                       b.region == Region::arena ? fmt::format("steps {}..{}", b.first, b.last) : "", kind);
  }
  return out;
}

} // namespace dlc::passes
