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

// The programs of a model (pipeline/pipeline.h builds each): inference (the forward
// graph), evaluation (forward and loss) and training (forward, loss, backward, update).
// input_gradient: the evaluation program with the loss's gradient with respect to each
// f32 model input appended (passes::build_input_gradient_graph).
enum class ProgramKind { inference, evaluation, training, input_gradient };

enum class Region {
  constants, // graph constants, and params/state no update writes (inference weights)
  state,     // params and state that updates write: persistent across steps
  arena,     // inputs, outputs and temporaries: scratch, reused across lifetimes
};
constexpr int kRegions = 3;
const char* region_name(Region r);

enum class BufferKind {
  value,     // a value that lives in memory
  temporary, // an anchor result a kernel keeps in memory while it runs (lower)
  workspace, // scratch of a kernel's calls (GEMM packing, padded convolution input)
};

struct Buffer {
  std::string name;          // the name of the value it was made for
  ir::ValueId value = ir::kNoValue;
  BufferKind kind = BufferKind::value;
  int kernel = -1;           // temporary, workspace: the Kernel::id whose step they live in
  ir::TensorType type;
  Region region = Region::arena;
  int64_t offset = 0;        // bytes from the start of the region; a multiple of kAlignment
  int64_t bytes = 0;         // type.bytes()
  int64_t size = 0;          // bytes rounded up to kAlignment
  int first = 0, last = 0;   // arena: live over steps [first, last] of the schedule
  int reuses = -1;           // in-place: the buffer whose memory it takes over at step `first`
  // A loop body's buffer (passes/lower_loop.cpp): it lies `parent_offset` bytes into buffer
  // `parent` (its loop's body arena), where the body's own plan put it; memplan places the
  // parent and derives region and offset from it.
  int parent = -1;
  int64_t parent_offset = 0;
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

  // lower: buffers (placed by memplan), each kernel's steps, the interface
  bool lowered = false;
  int64_t batch = 0;           // N: the largest n a run may pass
  std::vector<Buffer> buffers;
  std::vector<int> buffer_of;  // value id -> buffer; -1 for values that live only in a kernel
  std::vector<NamedValue> interface; // inputs, outputs, params, state, constants (graph order)
  bool uses_run_values = false;      // some step reads RunValue (dropout)
  // Weight preparation (an inference program: PassOptions::prepare_weights). Its first
  // prepare_count kernels (Kernel::prepare, put first by `schedule`) compute what depends
  // only on the parameters -- batch normalisation folded into the weights before it
  // (passes/fold_batch_norm.h) -- into the constants region. A backend runs them once
  // after the parameters change and the other kernels on every call.
  bool prepare_weights = false;
  int prepare_count = 0;
  // A loop's body compiled on its own (PassOptions::loop_body, inputs_batched).
  bool loop_body = false;
  std::vector<bool> inputs_batched;
  // Constants of loop bodies, copied into this program's constants region like its own:
  // the interface lists them after the graph's.
  std::vector<NamedValue> body_constants;
  // Each kernel thread beyond the caller's packs GEMM blocks into a buffer of its own, of
  // this many bytes, made once when the threads are (dlc_rt::reserve_thread_workspaces);
  // 0 when no call takes a workspace.
  int64_t thread_workspace_bytes = 0;

  // memplan
  std::array<int64_t, kRegions> region_size{};
  int64_t lower_bound = 0;     // most arena bytes live at one step, every buffer counted
  std::string packing;         // the packing order that produced the arena layout

  int64_t arena_size() const { return region_size[size_t(Region::arena)]; }
  int kernel_index(int id) const; // position of kernel `id` in `kernels`

  // Where a Ref is once planned: its buffer's region, and the byte offset there.
  struct Place {
    Region region;
    int64_t offset;
  };
  Place place(const Ref& r) const;
  const NamedValue* find(const std::string& name, bool output = false) const;
};

// The value a view stands for: follows reshape/flatten to the value that owns memory.
ir::ValueId base_value(const ir::Graph& g, ir::ValueId v);
bool is_view_op(const std::string& op);

// `dlc show --emit=kernels|lowered|schedule|plan`.
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
