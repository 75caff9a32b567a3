// Fusion: which nodes end up in one kernel, the kernel descriptions, and the issue's
// target of 40% fewer kernels than ops on the training graphs of mlp and cnn.
#include "passes/fusion.h"
#include "passes_test_helpers.h"

using namespace dlc;
using namespace dlc::passes;

namespace {

// The kernel containing the node that computes value `name`.
const Kernel& kernel_of(const Program& p, const std::string& name) {
  ir::ValueId v = p.graph.find(name);
  REQUIRE(v != ir::kNoValue);
  for (const Kernel& k : p.kernels)
    for (int n : k.nodes)
      if (n == p.graph.value(v).node) return k;
  FAIL("no kernel computes " << name);
  return p.kernels[0];
}

std::vector<std::string> ops_of(const Program& p, const Kernel& k) {
  std::vector<std::string> ops;
  for (int n : k.nodes) ops.push_back(p.graph.node(n).op->name);
  return ops;
}

} // namespace

TEST_CASE("fusion: a dense layer is one kernel: matmul with a bias and activation epilogue") {
  Program p = compile(testing::example_graph("mlp", 2, false));
  CHECK(p.kernels.size() == 4); // three dense layers and the softmax
  const Kernel& k = kernel_of(p, "dense_1.matmul");
  CHECK(k.kind == KernelKind::matmul);
  CHECK(ops_of(p, k) == std::vector<std::string>{"matmul", "bias_add", "sigmoid"});
  CHECK(k.anchors.size() == 1);
  CHECK(k.outputs == std::vector<ir::ValueId>{p.graph.find("dense_1.sigmoid")});
  // Body: the anchor's value, the bias loaded by broadcast, bias_add, sigmoid.
  REQUIRE(k.body.size() == 4);
  CHECK(k.body[0].kind == Expr::anchor);
  CHECK(k.body[1].kind == Expr::load);
  CHECK(k.body[1].index == LoadIndex::broadcast);
  CHECK(k.body[2].op_name == "bias_add");
  CHECK(k.body[2].args == std::vector<int>{0, 1});
  CHECK(k.body[3].op_name == "sigmoid");
  CHECK(k.stores.size() == 1);
  CHECK(k.stores[0].expr == 3);
}

TEST_CASE("fusion: element-wise chains become one kernel; views need no kernel") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", testing::f32({4, 3}));
  ir::ValueId y = g.add_input("y", testing::f32({3}));
  ir::ValueId a = g.add("tanh", {x}, {}, "a");
  ir::ValueId b = g.add("mul", {a, y}, {}, "b");
  ir::ValueId c = g.add("exp", {b}, {}, "c");
  ir::ValueId r = g.add("reshape", {c}, {{"shape", std::vector<int64_t>{12}}}, "r");
  g.add_output("c", c);
  g.add_output("r", r);
  g.add_output("s", g.add("reduce_sum", {a}, {}, "s"));
  Program p = compile(g);
  CHECK(p.kernels.size() == 2);
  CHECK(p.views.size() == 1);
  const Kernel& k = kernel_of(p, "c");
  CHECK(k.kind == KernelKind::elementwise);
  CHECK(ops_of(p, k) == std::vector<std::string>{"tanh", "mul", "exp"});
  // a is stored too: the reduction reads it.
  CHECK(k.outputs.size() == 2);
  CHECK(p.buffer_of[size_t(p.graph.find("r"))] == p.buffer_of[size_t(p.graph.find("c"))]);
  testing::check_equivalent(g, p, 1, false);
}

TEST_CASE("fusion: an element-wise op does not join a kernel its other operand depends on") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", testing::f32({2, 2}));
  ir::ValueId e = g.add("exp", {x}, {}, "e");
  ir::ValueId s = g.add("reduce_sum", {e}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", true}}, "s");
  g.add_output("y", g.add("div", {e, s}, {}, "y")); // needs s, which needs e's kernel to finish
  Program p = compile(g);
  CHECK(p.kernels.size() == 3);
  CHECK(kernel_of(p, "y").kind == KernelKind::elementwise);
  testing::check_equivalent(g, p, 2, false);
}

TEST_CASE("fusion: the training graph of mlp: softmax with cross-entropy, gradients and updates") {
  Program p = compile(testing::example_graph("mlp", 4, true));
  const Kernel& xent = kernel_of(p, "loss");
  CHECK(xent.kind == KernelKind::softmax_xent);
  CHECK(ops_of(p, xent) ==
        std::vector<std::string>{"softmax", "softmax_cross_entropy", "softmax_cross_entropy_grad"});
  // The activation gradient is the epilogue of the matmul producing its upstream gradient.
  const Kernel& dx = kernel_of(p, "d.dense_2.bias_add");
  CHECK(ops_of(p, dx) == std::vector<std::string>{"matmul", "sigmoid_grad"});
  // Each parameter's update is one kernel: the epilogue of its gradient's kernel, and it
  // writes the parameter in place.
  CHECK(ops_of(p, kernel_of(p, "dense_2.kernel.new")) == std::vector<std::string>{"matmul", "sgd_update"});
  CHECK(ops_of(p, kernel_of(p, "dense_2.bias.new")) == std::vector<std::string>{"reduce_sum", "sgd_update"});
  for (const UpdateWrite& u : p.update_writes) CHECK_FALSE(u.copy);
}

TEST_CASE("fusion: training graphs of mlp and cnn have at least 40% fewer kernels than ops") {
  for (const char* name : {"mlp", "cnn"}) {
    ir::Graph g = testing::example_graph(name, 8, true);
    Program p = compile(g);
    INFO(name << ": " << p.kernels.size() << " kernels from " << g.nodes().size() << " ops");
    CHECK(double(p.kernels.size()) <= 0.6 * double(g.nodes().size()));
    CHECK(double(p.kernels.size()) <= 0.6 * double(p.fused_ops));
  }
}

TEST_CASE("fusion: Adam's update of a parameter and its two moments is one kernel, in place") {
  Program p = compile(testing::example_graph("mlp_relu_adam", 2, true));
  const Kernel& k = kernel_of(p, "dense_1.kernel.new");
  CHECK(ops_of(p, k) == std::vector<std::string>{"matmul", "adam_update"});
  CHECK(k.outputs.size() == 3);
  for (const char* v : {"dense_1.kernel", "dense_1.kernel.m", "dense_1.kernel.v"})
    CHECK(p.buffers[size_t(p.buffer_of[size_t(p.graph.find(std::string(v) + ".new"))])].name == v);
}


TEST_CASE("fusion: slices of one value read by element-wise math are strided loads of one kernel") {
  ir::Graph g = testing::gate_graph(3);
  Program p = compile(g);
  REQUIRE(p.kernels.size() == 1); // the gate math of a step: one kernel, no slice copies
  const Kernel& k = p.kernels[0];
  CHECK(k.kind == KernelKind::elementwise);
  CHECK(k.inputs == std::vector<ir::ValueId>{g.find("z"), g.find("c")});
  int slices = 0;
  for (const Expr& e : k.body)
    if (e.kind == Expr::load && e.index == LoadIndex::slice) {
      slices++;
      CHECK(e.value == g.find("z"));
      CHECK(e.type.shape == ir::Shape{3, 4});
    }
  CHECK(slices == 3);
  CHECK(k.outputs.size() == 2);
  testing::check_equivalent(g, p, 7, false);
}

TEST_CASE("fusion: a slice that an anchor or an output reads keeps its copy kernel") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", testing::f32({2, 6}));
  ir::ValueId s = g.add("slice", {x}, {{"axis", int64_t(1)}, {"begin", int64_t(2)}, {"size", int64_t(3)}}, "s");
  g.add_output("t", g.add("tanh", {s}, {}, "t"));
  g.add_output("r", g.add("reduce_sum", {s}, {}, "r"));
  Program p = compile(g);
  CHECK(kernel_of(p, "s").kind == KernelKind::data);
  testing::check_equivalent(g, p, 3, false);
}
