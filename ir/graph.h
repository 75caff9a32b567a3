// The typed SSA graph: values defined once (graph inputs, parameters, constants,
// persistent state, node results) and nodes in topological order.
#pragma once

#include "ir/attrs.h"
#include "ir/op.h"
#include "ir/types.h"

#include <deque>
#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

namespace dlc::ir {

using ValueId = int;
constexpr ValueId kNoValue = -1;

enum class ValueKind { input, param, constant, state, result };
const char* value_kind_name(ValueKind k);

// How a parameter (or optimizer state) starts. `fan_in`/`fan_out` are filled by the
// layer that owns the parameter; see docs/model-format.md for each layer's default.
struct Initializer {
  std::string kind = "zeros"; // zeros, ones, constant, normal, truncated_normal, uniform,
                              // glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal,
                              // orthogonal
  double value = 0;           // constant value, or stddev / limit when given explicitly
  bool has_value = false;
  int64_t fan_in = 1;
  int64_t fan_out = 1;
  std::string str() const;
};

struct Value {
  ValueId id = kNoValue;
  std::string name; // unique within the graph; printed as %name
  TensorType type;
  ValueKind kind = ValueKind::result;
  int node = -1;         // producing node for results
  int result_index = 0;  // which result of that node
  bool trainable = true; // params only
  double l1 = 0, l2 = 0;  // params: a regularizer's weights; training adds l1·Σ|w| + l2·Σw² to the loss
  // params: constraints applied after each update (Keras's kernel_constraint): every
  // slice over max_norm_axes scaled to an L2 norm <= max_norm (0: none); non_neg: w >= 0.
  double max_norm = 0;
  std::vector<int64_t> max_norm_axes;
  bool non_neg = false;
  Initializer init;      // params and state
  std::vector<float> data; // constants (f32, or integers stored exactly as floats)
};

struct Node {
  const OpDef* op = nullptr;
  std::string name; // the layer (or pass) that made it, for messages: "dense_1"
  std::vector<ValueId> operands;
  std::vector<ValueId> results;
  Attrs attrs;
  // A loop's body (ir/ops/loop_ops.cpp): a graph of its own whose inputs and outputs the
  // loop's operands and results feed, once per step. Shared, never changed once built.
  std::shared_ptr<const Graph> body;
};

class Graph {
public:
  std::string name = "model";
  // The batch size on axis 0 of the inputs (the frontend sets it): the compiled backends
  // let a run pass fewer samples and follow them through the graph (passes/batch_axis.cpp).
  // 0: none declared; every value is then run whole.
  int64_t batch = 0;

  ValueId add_input(const std::string& name, TensorType type);
  ValueId add_param(const std::string& name, TensorType type, Initializer init,
                    bool trainable = true);
  // A param like `p` of another graph: its name, type, initializer and every training
  // property (trainable, regularizers, constraints). Passes that rebuild graphs use it.
  ValueId copy_param(const Value& p);
  ValueId add_state(const std::string& name, TensorType type, Initializer init);
  ValueId add_constant(const std::string& name, TensorType type, std::vector<float> data);

  // Adds a node after inferring its result types; throws dlc::Error naming the node.
  std::vector<ValueId> add_node(const std::string& op, std::vector<ValueId> operands,
                                Attrs attrs = {}, const std::string& node_name = "",
                                std::shared_ptr<const Graph> body = nullptr);
  // Single-result shortcut.
  ValueId add(const std::string& op, std::vector<ValueId> operands, Attrs attrs = {},
              const std::string& node_name = "");

  // Gives loop node `node` a new body that computes what the old one did (the same
  // outputs first, of the same types) and more, and appends a result for each extra
  // output. Autodiff uses it to make a forward loop save what its backward loop reads.
  std::vector<ValueId> extend_loop(int node, std::shared_ptr<const Graph> body);

  void add_output(const std::string& name, ValueId v, ValueId mask = kNoValue);
  // A training graph's update: persistent `target` (param or state) takes `value` after a step.
  void add_update(ValueId target, ValueId value);

  const Value& value(ValueId id) const { return values_[size_t(id)]; }
  Value& value(ValueId id) { return values_[size_t(id)]; }
  const TensorType& type(ValueId id) const { return values_[size_t(id)].type; }
  // A deque: adding values never moves existing ones, so references to a Value (or its
  // type or name) stay valid while a pass adds nodes.
  const std::deque<Value>& values() const { return values_; }
  const std::deque<Node>& nodes() const { return nodes_; } // stable like values()
  const Node& node(int i) const { return nodes_[size_t(i)]; }
  // In-place access for passes that rewire a node (and tests that break a graph on
  // purpose); nothing is re-checked until verify().
  Node& node(int i) { return nodes_[size_t(i)]; }

  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& params() const { return params_; }
  const std::vector<ValueId>& states() const { return states_; }
  const std::vector<ValueId>& constants() const { return constants_; }
  // An output's mask (docs/recurrent.md, masking): f32 [batch, T], 1 where step t of a
  // sample is real and 0 where it is padding, for an output whose axis 1 is time; the
  // loss and the metrics skip the padded steps. kNoValue when the output has none.
  struct Output {
    std::string name;
    ValueId value;
    ValueId mask = kNoValue;
  };
  const std::vector<Output>& outputs() const { return outputs_; }
  struct Update {
    ValueId target;
    ValueId value;
  };
  const std::vector<Update>& updates() const { return updates_; }

  ValueId find(const std::string& value_name) const; // kNoValue when absent
  int64_t param_count(bool trainable_only = false) const;

  // Renames a value, keeping names unique (a suffix is added on collision).
  void rename(ValueId id, const std::string& name);

private:
  std::deque<Value> values_;
  std::deque<Node> nodes_;
  std::vector<ValueId> inputs_, params_, states_, constants_;
  std::vector<Output> outputs_;
  std::vector<Update> updates_;
  std::unordered_map<std::string, ValueId> by_name_;

  ValueId new_value(const std::string& name, TensorType type, ValueKind kind);
  std::string unique_name(const std::string& base) const;
};

} // namespace dlc::ir
