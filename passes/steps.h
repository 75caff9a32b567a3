// What every kernel does, spelled out as steps that a backend only has to print
// (codegen/cpp) or build (codegen/llvm): the result of the `lower` pass (passes/lower.h),
// stored in each Kernel. The two backends differ only in syntax because every decision
// is made there, once.
//
// CONTRACT (read this before writing a backend)
//
// Memory. Every pointer is a Ref: a buffer of the Program (Program::buffers) and a byte
// offset inside it. After memory planning a buffer has a region (constants, state, arena)
// and an offset there, so a backend holds three base pointers (64-byte aligned) and
// computes base[region] + buffer.offset + ref.offset (Program::place). Buffers are the
// values that live in memory, and what the lowering added: the temporaries of anchor
// results that cannot go straight to an output (a gradient an optimizer update consumes)
// and the workspaces of calls that take `ws` (GEMM packing, a convolution's padded
// copies), each live only while its kernel runs. The planner places every one of them:
// allocate exactly Program::region_size bytes per region; nothing else is ever needed on
// the calling thread (kernel threads other than the caller bring their own GEMM packing
// buffers: Program::thread_workspace_bytes each).
//
// Batch. Programs are compiled for a batch of N samples (Program::batch); a run may pass
// any n in [1, N]. Every integer that depends on the batch is an Extent: per * n when
// `batched`, else per. A backend that compiles for a fixed n evaluates Extent::at(n) at
// compile time; emitted C++ evaluates it at run time. Batched tensors keep their sample
// axis first, so their first n samples are a prefix of their buffer.
//
// Steps. A kernel is a list of steps run in order:
//   - Call: one extern "C" function of runtime/c_api.h (`fn` is its exact name; the JIT
//     registers those addresses), with arguments in the order the function declares them:
//     pointers (a Ref, or null), 64-bit integers (an Extent), f32 constants, or
//     `run_value`s (the run's seed / step / training flag, see RunValue).
//   - Repeat: a counted loop around steps of the other two kinds (a recurrent layer's time
//     steps); loop operands inside it may move by step_stride elements per iteration.
//   - Loop: an element-wise loop over `trip` elements, i = 0 .. trip-1. Each element
//     evaluates `body` in order (an SSA list of scalar f32 expressions) and performs
//     `stores`. Operands are buffers with an index expression (Index) giving the element
//     offset read or written for element i. Every store of element i happens after every
//     read of element i, and distinct i touch distinct stored elements, so element i may
//     be read and written in place (and loops may be vectorised).
//
// Scalar expressions. ScalarExpr::read loads operand `operand` at its index (f32).
// ScalarExpr::op applies an element-wise op of the op table (ir::OpDef::scalar) to
// earlier expressions `args`, in operand order, with its attributes: a call of its f32
// formula dlc_scalar_<op> (runtime/kernels/scalar.h) with the arguments
// scalar_arguments() lists (operands, values of absent operands, attributes, and for
// `random` ops the run values and the element index i). Both backends call that one
// function: emitted C++ directly, the JIT compiled to bitcode and inlined. Ops with
// several results (optimizer updates: new param, then new slots, passed by reference)
// give result 0; ScalarExpr::project takes result `result` of the op expression args[0].
//
// Interface. Program::interface lists every named value that lives in memory (inputs,
// outputs, params, state, constants) with its Ref; inputs/outputs with a batch axis are
// marked batched (their first n samples are what a call of n passes). Constants carry
// their data; a backend copies them into the constants region once. Params that no
// update writes (inference weights) live in the constants region too.
#pragma once

#include "ir/attrs.h"
#include "ir/graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlc::passes {

// An integer that scales with the run-time batch n: per * n when batched, else per.
struct Extent {
  int64_t per = 0;
  bool batched = false;
  int64_t at(int64_t n) const { return batched ? per * n : per; }
  static Extent fixed(int64_t v) { return {v, false}; }
};

// A place in memory: a byte offset into a buffer of the Program, holding elements of
// `dtype`.
struct Ref {
  int buffer = -1;
  int64_t offset = 0;
  ir::DType dtype = ir::DType::f32;
};

// Values a call or loop reads from the run, not from memory.
enum class RunValue {
  seed,     // u64: the run's seed (dropout masks)
  step,     // u64: steps taken before this one (dropout masks)
  training, // i32: 1 when dropout is active
};

enum class ArgKind { pointer, null, integer, real, run_value };

struct Arg {
  ArgKind kind = ArgKind::integer;
  Ref ref;              // pointer
  Extent integer;       // integer (int64_t)
  double real = 0;      // real (passed as float)
  RunValue run = RunValue::seed;
  std::string name;     // the C parameter's name ("m", "lda"): for comments and listings
  std::string symbol;   // integer: the constant's name in runtime/c_api.h (DLC_RT_ACT_RELU), if any
  bool written = false; // pointer: the call writes through it (results, workspaces)
};

struct Call {
  std::string fn; // a function of runtime/c_api.h
  std::vector<Arg> args;
  // Floats its `ws` argument needs at the compiled batch (0: it takes none).
  int64_t workspace_floats = 0;
};

// The element offset of an operand for element i of a loop:
//   sum over terms of ((i / div) % mod) * mul      (mod == 0: no modulo)
// No terms: always element 0 (a scalar broadcast). identity(): one term {1, 0, 1}.
struct IndexTerm {
  int64_t div = 1, mod = 0, mul = 1;
};
struct Index {
  std::vector<IndexTerm> terms;
  bool identity() const { return terms.size() == 1 && terms[0].div == 1 && terms[0].mod == 0 && terms[0].mul == 1; }
  bool scalar() const { return terms.empty(); }
  int64_t at(int64_t i) const;
};

struct Operand {
  Ref ref;
  Index index;
  std::string name; // the graph value, for comments
  // Inside a Repeat: elements added to the offset per unit of its counter t (a step's slice
  // of a sequence, the slot of a stacked output); 0 elsewhere.
  int64_t step_stride = 0;
};

struct ScalarExpr {
  enum Kind { read, op, project } kind = op;
  int operand = -1;     // read: index into Loop::operands
  std::string op_name;  // op: an element-wise op (ir::OpDef::scalar)
  ir::Attrs attrs;      // op: its attributes
  std::vector<int> args; // op: earlier expressions in operand order; project: {the op expression}
  int result = 0;       // project: which result (>= 1)
  std::string value;    // op, project: the graph value it computes (for names and comments)
};

// One argument of the call of an op expression's scalar formula, dlc_scalar_<op>, in
// order (ir::ScalarForm): an operand (a state slot: by reference, replaced in place), a
// constant of a C type (an absent operand's value or an attribute), or a run value.
struct ScalarArg {
  enum Kind { operand, slot, constant, seed, step, training, index } kind = operand;
  int arg = -1;                              // operand, slot: index into ScalarExpr::args
  ir::ScalarType type = ir::ScalarType::f32; // constant
  double value = 0;                          // constant
  std::string name;                          // constant: the attribute's or absent operand's name
};
std::vector<ScalarArg> scalar_arguments(const ScalarExpr& e);

struct LoopStore {
  int expr = -1;    // the expression stored (f32)
  int operand = -1; // where: index into Loop::operands
};

struct Loop {
  Extent trip; // number of elements
  std::vector<Operand> operands;
  std::vector<ScalarExpr> body;
  std::vector<LoopStore> stores;
  // > 0: a long loop, split across the kernel pool (dlc_rt::default_kernel_pool) into one
  // contiguous block of elements per thread, each at least `grain` long. Elements are
  // independent (see Steps), so the split never changes a result.
  int64_t grain = 0;
};

// Loops of at least twice this many elements (at the compiled batch) are split across
// threads: a block of 16K elements takes ~10 us, well above the cost of a dispatch.
constexpr int64_t kParallelLoopGrain = 16384;

enum class StepKind { call, loop, repeat };

struct Step;

// A loop over time (a lowered `scan`, passes/lower_loop.cpp): `steps` run `trip` times
// with a counter t going 0 .. trip-1, or trip-1 .. 0 when `reverse`. The only thing that
// differs between iterations is t, read by loop operands with a step_stride. A Repeat's
// steps hold no Repeat.
struct Repeat {
  int64_t trip = 0;
  bool reverse = false;
  std::vector<Step> steps;
  std::string name; // the loop node, for comments
};

struct Step {
  StepKind kind = StepKind::call;
  Call call;
  Loop loop;
  Repeat repeat;
};

// A named value in memory that the program's interface exposes.
struct NamedValue {
  std::string name;
  ir::ValueKind kind = ir::ValueKind::input; // input, param, state, constant; outputs: see `output`
  bool output = false;      // a graph output (kind is then that of the value it names)
  ir::TensorType type;      // at the compiled batch
  Ref ref;
  bool batched = false;     // axis 0 is the sample axis: a call of n uses the first n samples
  int64_t sample_elems = 0; // elements per sample when batched, else type.numel()
  std::vector<double> data; // constants: their values
};

} // namespace dlc::passes
