// A fused kernel, described once so that every backend (codegen/cpp, codegen/llvm, the
// interpreter's program evaluator) prints or runs the same thing.
//
// A kernel is zero or more *anchor* nodes followed by an element-wise *body*:
//   - an anchor is a node that is not element-wise (matmul, conv2d, pooling, a reduction,
//     softmax, a loss...): a backend implements it with its own loops (its library
//     kernel) over the anchor's operands, which are kernel inputs or results of earlier
//     anchors of the same kernel;
//   - the body is a list of scalar expressions (Expr) evaluated once per element of the
//     iteration space `space`: loads of kernel inputs, anchor results (the epilogue: the
//     anchor's value for that element, still in registers), and element-wise ops on
//     earlier expressions. Stores write expressions to the kernel's outputs.
// A pure element-wise kernel has no anchor; a bare matmul has one anchor, a body that
// reads its result and one store. Intermediate values never touch memory.
#pragma once

#include "ir/graph.h"
#include "passes/steps.h"

#include <string>
#include <vector>

namespace dlc::passes {

enum class KernelKind {
  elementwise, // body only
  matmul,      // matmul anchor, with its epilogue
  conv,        // conv2d and its backprop anchors
  pool,        // pooling and pooling gradients
  reduction,   // reductions, softmax, broadcasts
  softmax_xent, // softmax / cross-entropy and its gradient over the same logits, one pass
  loss,        // other losses and their gradients, over one prediction
  data,        // data movement: transpose, concat, slice, broadcast_to, one_hot...
  update,      // an optimizer op (OpClass::optimizer)
  loop,        // a loop over time (scan): its body's kernels repeated (passes/lower_loop.cpp)
  other,       // any other op: its reference loops
};
const char* kernel_kind_name(KernelKind k);

// How a load indexes its input for body element i of `space`.
enum class LoadIndex {
  same,      // the input has the space's shape: element i
  broadcast, // the input broadcasts to the space (numpy rules; bias [C] over [..., C])
  slice,     // a fused `slice` of the input (attrs: axis, begin, size) whose shape is the
             // space's: element i of the slice (a strided read; the gates of an LSTM)
};

struct Expr {
  // load: an input; anchor: an anchor's result; op: an element-wise op (for an op with
  // several results, such as an optimizer update, the expression is its result 0);
  // project: result `result` (>= 1) of the op expression args[0].
  enum Kind { load, anchor, op, project } kind = op;
  int input = -1;             // load: index into Kernel::inputs
  LoadIndex index = LoadIndex::same;
  ir::ValueId value = ir::kNoValue; // the graph value this expression computes or loads
  std::string op_name;        // op: an element-wise op of the op table
  ir::Attrs attrs;            // op: its attributes; a slice load: the slice's
  // For a load, `value` is the input read (for a slice load, the sliced value) and `type`
  // the loaded expression's type (for a slice load, the slice's).
  std::vector<int> args;      // op: indices of earlier expressions, in operand order
  int result = 0;             // project: which result of args[0]
  ir::TensorType type;        // this expression's tensor type (space, or the loaded input's)
};

struct Store {
  int expr = -1;   // the expression stored
  int output = -1; // index into Kernel::outputs
};

struct Kernel {
  int id = -1;              // position in fusion order (stable; schedules list ids)
  std::string name;         // "k3_dense_1.matmul": id and the first node's name
  std::string c_name;       // once lowered, a C identifier saying what it computes ("dense_1_relu",
                            // "update_dense_1_kernel"), unique in the program
  KernelKind kind = KernelKind::elementwise;
  std::vector<int> nodes;   // every graph node in this kernel, in evaluation order
  std::vector<int> anchors; // the nodes among `nodes` that are anchors, in order
  ir::Shape space;          // the body's iteration space
  std::vector<ir::ValueId> inputs;  // read from memory (a view reads its base buffer)
  std::vector<ir::ValueId> outputs; // written to memory: used outside the kernel
  std::vector<Expr> body;
  std::vector<Store> stores;
  // (output, input) pairs where the output may take its input's memory: the kernel is
  // element-wise, the load is `same`-indexed and both have one type, so element i is
  // read before it is written and nothing else reads it.
  std::vector<std::pair<int, int>> in_place;
  // What it does, once lowered (passes/lower.h): calls and element-wise loops in order.
  std::vector<Step> steps;
  // It reads only parameters, constants and what other such kernels write, in a program
  // that prepares its weights (Program::prepare_weights): it runs when the weights change,
  // not in every call, and its results persist in the constants region.
  bool prepare = false;
};

// Whether a body may contain `op`: the op table gives it a scalar formula
// (ir::OpDef::scalar): activations, broadcasting arithmetic, bias_add, prelu, dropout, the
// activation gradients, the optimizer updates and their per-step scalars.
bool is_body_op(const std::string& op);

// Human-readable listing of a kernel: header, anchors, body, stores.
std::string print_kernel(const ir::Graph& g, const Kernel& k);

} // namespace dlc::passes
