// The planned Program: the optimised graph, its fused kernels in execution order, and a
// buffer for every value that touches memory, at an offset in one of three regions. It is
// what the pass pipeline produces and what every backend consumes.
#pragma once

#include "ir/graph.h"
#include "passes/kernel.h"

#include <array>
#include <string>
#include <vector>

namespace dlc::passes {

constexpr int64_t kAlignment = 64; // bytes: a cache line, and an AVX-512 vector

enum class Region {
  constants, // graph constants, and params/state no update writes (inference weights)
  state,     // params and state that updates write: persistent across steps
  arena,     // inputs, outputs and temporaries: scratch, reused across lifetimes
};
constexpr int kRegions = 3;
const char* region_name(Region r);

struct Buffer {
  std::string name;          // the name of the value it was made for
  ir::ValueId value = ir::kNoValue;
  ir::TensorType type;
  Region region = Region::arena;
  int64_t offset = 0;        // bytes from the start of the region; a multiple of kAlignment
  int64_t bytes = 0;         // type.bytes()
  int64_t size = 0;          // bytes rounded up to kAlignment
  int first = 0, last = 0;   // arena: live over steps [first, last] of the schedule
  int reuses = -1;           // in-place: the buffer whose memory it takes over at step `first`
};

// How a graph update (target <- value) reaches the target's memory.
struct UpdateWrite {
  ir::ValueId target = ir::kNoValue;
  ir::ValueId value = ir::kNoValue;
  int kernel = -1;     // Kernel::id of the kernel that writes the target's buffer
  bool copy = false;   // that kernel is a copy appended for it (else: value is computed in place)
};

struct Program {
  ir::Graph graph;             // the graph the kernels are made of (after clean-up)
  int source_ops = 0;          // nodes of the graph the pipeline started from
  int fused_ops = 0;           // nodes of `graph` when it was fused

  // fuse
  std::vector<Kernel> kernels; // after `schedule`: in execution order (kernels[i] runs at step i)
  std::vector<int> views;      // nodes that are views (reshape, flatten): no kernel, no copy
  std::vector<UpdateWrite> update_writes;
  bool fused = false, scheduled = false, planned = false;

  // schedule
  std::string schedule_choice; // which candidate order won, with every candidate's peak

  // memplan
  std::vector<Buffer> buffers;
  std::vector<int> buffer_of;  // value id -> buffer; -1 for values that live only in a kernel
  std::array<int64_t, kRegions> region_size{};
  int64_t lower_bound = 0;     // most arena bytes live at one step
  std::string packing;         // the packing order that produced the arena layout

  int64_t arena_size() const { return region_size[size_t(Region::arena)]; }
  int kernel_index(int id) const; // position of kernel `id` in `kernels`
};

// The value a view stands for: follows reshape/flatten to the value that owns memory.
ir::ValueId base_value(const ir::Graph& g, ir::ValueId v);
bool is_view_op(const std::string& op);

// `dlc show --emit=kernels|schedule|plan`.
std::string print_kernels(const Program& p);
std::string print_schedule(const Program& p);
std::string print_plan(const Program& p);   // the timeline: every buffer, where and when
std::string plan_summary(const Program& p, int largest); // regions, arena vs bound, largest buffers

} // namespace dlc::passes

namespace dlc::passes {

// For each position in p.kernels, the positions of the kernels that must run before it:
// producers of what it reads, and (for a kernel writing an update's target) every other
// kernel that reads the target's old value.
std::vector<std::vector<int>> kernel_dependencies(const Program& p);

} // namespace dlc::passes
