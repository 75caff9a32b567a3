// The op table: every op's name, operand count, attributes and type rule, written
// once and found by name. Reference evaluation lives in ir/interp/, gradient rules in
// passes/autodiff/; both are keyed by the same name.
#pragma once

#include "ir/attrs.h"
#include "ir/error.h"
#include "ir/types.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dlc::ir {

class Graph;

struct AttrSpec {
  std::string name;
  AttrKind kind;
  bool required = true;
};

// What a type rule sees: the node's name (for messages), its operand types, attributes.
struct InferContext {
  const std::string& op;
  const std::string& node;
  const std::vector<TensorType>& in;
  const Attrs& attrs;
  const Graph* body = nullptr; // a loop's body (OpDef::has_body), else null

  // Throws dlc::Error: "node 'dense_1' (matmul): <message>".
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error(fmt::format("node '{}' ({}): ", node, op) +
                fmt::format(f, std::forward<Args>(args)...));
  }
  void expect_float(int i) const;
  void expect_rank(int i, int rank) const;
  void expect_min_rank(int i, int rank) const;
};

using InferFn = std::function<std::vector<TensorType>(const InferContext&)>;

enum class OpClass {
  elementwise, // one output element from the same-index element of each operand
  linalg,      // matmul and friends
  conv,        // convolutions and their gradients
  pool,        // pooling and its gradients
  shape,       // data movement only: reshape, transpose, concat...
  reduction,
  loss,        // scalar output
  optimizer,   // parameter and state updates
  loop,        // runs a body graph once per step (scan)
};

// ---- Properties: what passes and backends ask of an op (never a list of names) ----

// The C type of a parameter of an element-wise op's scalar formula.
enum class ScalarType { f32, f64, i64 };

// An attribute passed to a scalar formula after the operands; `dflt` when absent.
struct ScalarAttr {
  std::string name{};
  ScalarType type = ScalarType::f32;
  double dflt = 0;
};

// The value a scalar formula receives for `a` from a node's attributes: a Float, Int or
// Bool attribute as a number (true: 1), `a.dflt` when absent.
double scalar_attr_value(const Attrs& attrs, const ScalarAttr& a);

// A fusible element-wise op: kernel bodies compute it element by element with its f32
// formula, the function `dlc_scalar_<op>` of runtime/kernels/scalar.h, which both
// compiled backends call (emitted C++ directly, the JIT through the same code compiled to
// LLVM bitcode). Its parameters, in order: every operand as f32 (the `slots` operands
// from index 2 on as float&: an optimizer's state, replaced in place), the values of
// absent trailing operands (`absent`), the attributes `attrs`, and, when `random`, the
// run's seed and step (u64), the training flag and the element's index (i64). Operand
// element i maps to result element i alone, so a body op may run in place.
struct ScalarForm {
  std::vector<ScalarAttr> attrs{};
  std::vector<ScalarAttr> absent{}; // optional trailing operands: their names and values when absent
  int slots = 0;
  bool random = false;
};

// What the batch analysis knows about a node: its operand types, which operands carry
// the run-time batch on axis 0 (at least one does), its result types and attributes.
struct BatchContext {
  const std::string& op;
  const std::string& node;
  const std::vector<TensorType>& in;
  const std::vector<bool>& batched;
  const std::vector<TensorType>& out;
  const Attrs& attrs;
  int64_t batch; // the compiled batch size
  const Graph* body = nullptr; // a loop's body
  // A rule whose results differ (a loop's: some carried values are weight-gradient sums)
  // fills this with one flag per result; otherwise its return value holds for every one.
  mutable std::vector<bool> per_result{};

  // Throws dlc::Error: "node 'x' (op): cannot follow the batch axis: why".
  [[noreturn]] void fail(const std::string& why) const;
  // The attribute `name` (default `dflt`) as an axis of a rank-`rank` operand.
  int axis(const char* name, int rank, int64_t dflt) const;
};

// Whether a node's results carry the batch on axis 0 (every result alike), given that
// some operand does. Fails when the op would move or mix the samples.
using BatchRule = std::function<bool(const BatchContext&)>;

// Which values of `g` carry the batch on axis 0, given which of its inputs do (one flag
// per input; params, constants and state never do): forward dataflow over the nodes'
// rules. passes/batch_axis.cpp runs it on whole graphs, the `scan` rule on loop bodies.
std::vector<bool> batched_values(const Graph& g, const std::vector<bool>& inputs_batched, int64_t batch);
// Which inputs of a loop's body carry the batch, given its operands': as they do, except
// that a carried value that enters without one (a zero initial state) and leaves with
// one is batched from the start. Throws dlc::Error for one that loses it.
std::vector<bool> loop_body_batched(const Graph& body, std::vector<bool> operands, size_t carries, int64_t batch,
                                    const std::string& node);

// Standard rules (ir/op.cpp).
BatchRule batch_elementwise(); // batched; a batched operand must have the result's rank
BatchRule batch_sample_wise(); // operand 0 must be batched; so is the result
BatchRule batch_ends();        // the result has no batch axis (a loss, a weight gradient)
BatchRule batch_along(const char* axis_attr, int64_t dflt); // batched; the axis must not be 0

// An optimizer update's operands after param and grad: state slots (each also a result),
// then f32[] scalars (lr first), then an optional f32[] gradient scale; and the
// hyper-parameters it takes as Float attributes.
struct UpdateLayout {
  std::vector<std::string> slots{}, scalars{}, hypers{};
};

// One operand of an op's example: its type and the range its values are drawn from
// (`integer`: whole numbers in [lo, hi), as ids and labels must be).
struct ExampleOperand {
  TensorType type;
  double lo = -1, hi = 1;
  bool integer = false;
  bool target = false; // a loss's target: the op is not differentiated with respect to it
};

// A small instance of the op, for the tests generated from the op table
// (tests/unit/op_coverage_test.cpp): its operands and attributes.
struct OpExample {
  std::vector<ExampleOperand> operands{};
  Attrs attrs{};
  // A loop's body, built on use: a graph cannot be built while the op table is.
  std::function<std::shared_ptr<const Graph>()> make_body{};
};

enum class Phase {
  forward,   // a model op
  backward,  // emitted by gradient rules only (relu_grad, conv2d_backprop_input...)
  optimizer, // a parameter update or its per-step scalars
};

struct OpDef {
  std::string name;
  std::string summary;
  int min_operands = 1;
  int max_operands = 1; // -1: any number
  std::vector<AttrSpec> attrs;
  InferFn infer;
  OpClass cls = OpClass::elementwise;

  // Properties.
  std::optional<ScalarForm> scalar{}; // a fusible element-wise body op
  bool activation = false;     // a layer's "activation" may name it (its ScalarForm attributes, with
                               // their defaults, are the activation's parameters)
  bool takes_epilogue = false; // an anchor whose results a bias add and an activation may finish
  int epilogue_act = 0;        // an activation such an epilogue applies: its dlc_rt::Act (0: none);
                               // attribute `alpha` is leaky_relu's slope
  BatchRule batch{};           // unset: the compiled backends cannot follow the batch through it
  bool view = false;           // its result is its operand's memory, reinterpreted (no kernel)
  bool row_pass = false;       // softmax-like: reads 2-D operand 0 row by row along the last axis,
                               // so it can share one pass over the rows with the losses reading them
  bool strided_load = false;   // its result is a strided view of operand 0 (slice) that bodies
                               // may read in place
  Phase phase = Phase::forward;
  bool differentiable = true;  // forward ops: has a gradient rule (one_hot's indices have none)
  std::string grad_from_x{};   // a unary op whose gradient is this backward op of (x, dy) with
                               // the op's attributes, dy * f'(x) (autodiff needs no rule of its own)
  std::optional<UpdateLayout> update{}; // an optimizer update
  bool has_body = false;       // a loop: its node carries a body graph (Node::body) that the type
                               // rule, the interpreter and the passes descend into
  std::string not_compiled{};  // why the compiled backends cannot run it yet (empty: they can); the
                               // generated tests report such an op as skipped there, by this reason
  // Its example for the generated tests; unset for a body op: every operand f32[3, 4] in
  // [-1, 1), no attributes.
  std::optional<OpExample> example{};

  bool random = false;          // an anchor that draws from the run's RNG (random_affine): like a
                               // `random` body op, never folded into a constant
  bool is_body() const { return scalar.has_value(); }
  bool draws_random() const { return random || (scalar && scalar->random); }
  OpExample example_or_default() const;
};

// Looks an op up by name; nullptr when unknown.
const OpDef* find_op(const std::string& name);
// Throws dlc::Error naming the nearest known op.
const OpDef& get_op(const std::string& name);
std::vector<std::string> op_names();

// Registration, used by the op-family files in ir/ops/. Returns the registered
// definition, so that a family can set its properties.
OpDef& register_op(OpDef def);
// An op a family registered earlier, to set its properties while the table is being built.
OpDef& registered_op(const std::string& name);

// Checks operand count and attribute kinds, then runs the type rule.
std::vector<TensorType> infer_types(const OpDef& op, const std::string& node,
                                    const std::vector<TensorType>& in, const Attrs& attrs,
                                    const Graph* body = nullptr);

// Broadcasting of two shapes (numpy rules); returns false when they do not broadcast.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);

} // namespace dlc::ir
