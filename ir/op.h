// The op table: every op's name, operand count, attributes and type rule, written
// once and found by name. Reference evaluation lives in ir/interp/, gradient rules in
// passes/autodiff/; both are keyed by the same name.
#pragma once

#include "ir/attrs.h"
#include "ir/error.h"
#include "ir/types.h"

#include <functional>
#include <string>
#include <vector>

namespace dlc::ir {

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
  window,      // convolution, pooling
  shape,       // data movement only: reshape, transpose, concat...
  reduction,
  loss,        // scalar output
  optimizer,   // parameter and state updates
};

struct OpDef {
  std::string name;
  std::string summary;
  int min_operands = 1;
  int max_operands = 1; // -1: any number
  std::vector<AttrSpec> attrs;
  InferFn infer;
  OpClass cls = OpClass::elementwise;
};

// Looks an op up by name; nullptr when unknown.
const OpDef* find_op(const std::string& name);
// Throws dlc::Error naming the nearest known op.
const OpDef& get_op(const std::string& name);
std::vector<std::string> op_names();

// Registration, used by the op-family files in ir/ops/.
void register_op(OpDef def);

// Checks operand count and attribute kinds, then runs the type rule.
std::vector<TensorType> infer_types(const OpDef& op, const std::string& node,
                                    const std::vector<TensorType>& in, const Attrs& attrs);

// Broadcasting of two shapes (numpy rules); returns false when they do not broadcast.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);

} // namespace dlc::ir
