// The shape of the backward graph: only nodes on a path from a wrt value to the loss are
// differentiated, uses are summed, forward values are reused, names, errors, and a rule
// for every differentiable op of the table.
#include "error_of.h"
#include "autodiff_test_helpers.h"
#include "ir/verifier.h"
#include "passes/autodiff/grad_rule.h"

using namespace dlc;
using namespace dlc::testing;

namespace {
int count_op(const ir::Graph& g, const std::string& op, size_t from = 0) {
  int n = 0;
  for (size_t i = from; i < g.nodes().size(); i++) n += g.nodes()[i].op->name == op;
  return n;
}
} // namespace

TEST_CASE("autodiff: only what leads from a wrt value to the loss is differentiated") {
  GradCase c;
  ValueId x = c.input("x", {2, 3}, {}, false);
  ValueId w = c.input("w", {2, 3});
  ValueId loss = c.g.add("reduce_sum", {c.g.add("mul", {x, w})});
  c.g.add("exp", {x}); // off the path
  size_t before = c.g.nodes().size();
  ir::Graph g = c.g;
  auto grads = passes::differentiate(g, loss, {w});
  ir::verify(g);
  // reduce_sum's gradient (broadcast_to) and mul's for w only (dy * x): two nodes.
  CHECK(g.nodes().size() - before == 2);
  CHECK(count_op(g, "broadcast_to", before) == 1);
  CHECK(count_op(g, "mul", before) == 1);
  CHECK(g.value(grads[0]).name == "d.w");
}

TEST_CASE("autodiff: the gradients of a value's uses are summed") {
  GradCase c;
  ValueId w = c.input("w", {4});
  ValueId y = c.g.add("add", {c.g.add("mul", {w, w}), c.g.add("tanh", {w})});
  c.expect_match(y);
  ir::Graph g = c.g;
  ValueId loss = g.add("reduce_sum", {y});
  size_t before = g.nodes().size();
  passes::differentiate(g, loss, {w});
  CHECK(count_op(g, "add", before) == 2); // three contributions to w: two sums
}

TEST_CASE("autodiff: forward values are reused, not recomputed") {
  GradCase c;
  ValueId x = c.input("x", {3});
  ValueId s = c.g.add("sigmoid", {x});
  ValueId loss = c.g.add("reduce_sum", {c.g.add("tanh", {s})});
  size_t before = c.g.nodes().size();
  ir::Graph g = c.g;
  passes::differentiate(g, loss, {x});
  CHECK(count_op(g, "sigmoid", before) == 0);
  CHECK(count_op(g, "tanh", before) == 0);
  for (size_t i = before; i < g.nodes().size(); i++)
    if (g.nodes()[i].op->name == "sigmoid_grad") CHECK(g.nodes()[i].operands[0] == s);
}

TEST_CASE("autodiff: a value with no path to the loss has no gradient") {
  GradCase c;
  ValueId x = c.input("x", {3});
  ValueId unused = c.input("u", {3});
  ValueId loss = c.g.add("reduce_sum", {x});
  ir::Graph g = c.g;
  auto grads = passes::differentiate(g, loss, {x, unused});
  CHECK(grads[0] != ir::kNoValue);
  CHECK(grads[1] == ir::kNoValue);
}

TEST_CASE("autodiff: errors name the node and the reason") {
  GradCase c;
  ValueId x = c.input("x", {2, 3});
  ValueId y = c.input("y", {2, 3}, {}, false);
  ValueId labels = c.labels("labels", {2}, {0, 1});
  ValueId mse = c.g.add("mse", {x, y}, {}, "the_loss");
  ir::Graph g = c.g;
  CHECK(error_of([&] { passes::differentiate(g, mse, {labels}); }).find("only float values have gradients") !=
        std::string::npos);
  CHECK(error_of([&] { passes::differentiate(g, x, {x}); }).find("must be a float scalar") != std::string::npos);
  CHECK(error_of([&] { passes::differentiate(g, mse, {y}); }) ==
        "node 'the_loss' (mse): not differentiable with respect to operand 1 (%y)");
  ValueId r = g.add("relu_grad", {x, y}, {}, "backward_only");
  ValueId l2 = g.add("reduce_sum", {r});
  CHECK(error_of([&] { passes::differentiate(g, l2, {x}); }).rfind("node 'backward_only' (relu_grad): op relu_grad has no gradient rule", 0) == 0);
}

TEST_CASE("autodiff: every differentiable op of the table has a gradient rule") {
  // The op table says which ops are forward ops (backward ops are emitted by gradient
  // rules and need no second derivative; optimizer ops are never differentiated) and
  // which of those are not differentiable (one_hot's integer indices).
  int with_rule = 0;
  for (const std::string& op : ir::op_names()) {
    const ir::OpDef& def = ir::get_op(op);
    if (def.phase != ir::Phase::forward || !def.differentiable) continue;
    CAPTURE(op);
    CHECK(passes::autodiff::find_grad(op) != nullptr);
    with_rule++;
  }
  CHECK(with_rule >= 35);
}
