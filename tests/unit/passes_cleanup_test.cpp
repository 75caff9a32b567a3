// The clean-up passes on hand-built graphs: each rule fires where it should, leaves the
// graph's interface alone, and the result computes the same values.
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/cleanup/cleanup.h"
#include "passes_test_helpers.h"

using namespace dlc;
using namespace dlc::passes;
using dlc::passes::testing::f32;

namespace {

ir::ValueId scalar(ir::Graph& g, const std::string& name, float v) {
  return g.add_constant(name, f32({}), {v});
}

// The op of the node producing output `i`, or "" when the output is not a node result.
std::string output_op(const ir::Graph& g, size_t i) {
  const ir::Value& v = g.value(g.outputs()[i].value);
  return v.kind == ir::ValueKind::result ? g.node(v.node).op->name : "";
}

void check_same_values(const ir::Graph& a, const ir::Graph& b) {
  ir::Bindings in = testing::random_bindings(a, 7);
  auto x = ir::run_outputs(a, in), y = ir::run_outputs(b, in);
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); i++) testing::check_close(y[i].second, x[i].second, x[i].first);
}

} // namespace

TEST_CASE("canonicalize: identities vanish, scalar arithmetic becomes scale, scales compose") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({2, 3}));
  ir::ValueId one = scalar(g, "one", 1), zero = scalar(g, "zero", 0), two = scalar(g, "two", 2);
  ir::ValueId a = g.add("mul", {x, one}, {}, "times_one");              // x
  ir::ValueId b = g.add("add", {zero, a}, {}, "plus_zero");             // constant first: swapped, then x
  ir::ValueId c = g.add("reshape", {b}, {{"shape", std::vector<int64_t>{2, 3}}}, "same_shape"); // x
  ir::ValueId d = g.add("mul", {c, two}, {}, "double");                 // scale(x) {2}
  ir::ValueId e = g.add("sub", {d, one}, {}, "minus_one");              // scale(x) {2, -1}
  ir::ValueId f = g.add("neg", {e}, {}, "negate");                      // scale(x) {-2, 1}
  g.add_output("x_again", c);
  g.add_output("f", f);
  ir::Graph out = eliminate_dead_code(canonicalize(g));
  ir::verify(out);
  CHECK(out.outputs()[0].value == out.find("x"));
  REQUIRE(output_op(out, 1) == "scale");
  CHECK(out.nodes().size() == 1);
  const ir::Node& s = out.node(0);
  CHECK(s.operands[0] == out.find("x"));
  CHECK(s.attrs.get_float("scale") == -2.0);
  CHECK(s.attrs.get_float("offset") == 1.0);
  check_same_values(g, out);
}

TEST_CASE("canonicalize: scales compose only when that is exact; division only by powers of two") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({4}));
  ir::ValueId a = g.add("scale", {x}, {{"scale", 3.0}, {"offset", 1.0}}, "a");
  ir::ValueId b = g.add("scale", {a}, {{"scale", 5.0}, {"offset", 1.0}}, "b"); // 3 and 5: rounding between
  ir::ValueId c = g.add("div", {x, scalar(g, "three", 3)}, {}, "c");          // 1/3 is not exact
  ir::ValueId d = g.add("div", {x, scalar(g, "four", 4)}, {}, "d");           // scale 0.25
  for (ir::ValueId v : {b, c, d}) g.add_output(g.value(v).name, v);
  ir::Graph out = eliminate_dead_code(canonicalize(g));
  CHECK(out.nodes().size() == 4);
  CHECK(out.node(out.value(out.find("b")).node).operands[0] == out.find("a"));
  CHECK(output_op(out, 1) == "div");
  REQUIRE(output_op(out, 2) == "scale");
  CHECK(out.node(out.value(out.find("d")).node).attrs.get_float("scale") == 0.25);
  ir::Bindings in = {{"x", ir::Tensor(f32({4}), std::vector<double>{0.1, -7.3, 1e-3, 3.3})}};
  auto want = ir::run_outputs(g, in), got = ir::run_outputs(out, in);
  for (size_t i = 0; i < want.size(); i++) CHECK(got[i].second.data == want[i].second.data); // bit for bit
}

TEST_CASE("canonicalize: view chains collapse and constants go second in commutative ops") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({2, 3, 2}));
  ir::ValueId y = g.add_input("y", f32({3}));
  ir::ValueId r = g.add("reshape", {x}, {{"shape", std::vector<int64_t>{4, 3}}}, "r1");
  ir::ValueId f = g.add("flatten", {r}, {}, "f1"); // [4,3] -> [4,3]: identity
  ir::ValueId r2 = g.add("reshape", {f}, {{"shape", std::vector<int64_t>{12}}}, "r2");
  ir::ValueId c = g.add_constant("c", f32({3}), {1, 2, 3});
  ir::ValueId m = g.add("maximum", {c, y}, {}, "max");
  g.add_output("flat", r2);
  g.add_output("m", m);
  ir::Graph out = eliminate_dead_code(canonicalize(g));
  REQUIRE(output_op(out, 0) == "reshape");
  const ir::Node& view = out.node(out.value(out.outputs()[0].value).node);
  CHECK(view.operands[0] == out.find("x"));
  const ir::Node& mx = out.node(out.value(out.outputs()[1].value).node);
  CHECK(mx.operands[0] == out.find("y"));
  CHECK(mx.operands[1] == out.find("c"));
  check_same_values(g, out);
}

TEST_CASE("fold: nodes over constants become constants with the interpreter's values") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({2}));
  ir::ValueId c = g.add_constant("c", f32({2}), {1, 4});
  ir::ValueId s = g.add("sqrt", {c}, {}, "root");     // [1, 2]
  ir::ValueId t = g.add("add", {s, c}, {}, "sum");    // [2, 6]
  ir::ValueId big = g.add("broadcast_to", {scalar(g, "k", 3)}, {{"shape", std::vector<int64_t>{100}}}, "big");
  g.add_output("y", g.add("mul", {x, t}, {}, "prod"));
  g.add_output("big", big);
  ir::Graph out = eliminate_dead_code(fold_constants(g));
  ir::verify(out);
  ir::ValueId folded = out.find("sum");
  REQUIRE(folded != ir::kNoValue);
  CHECK(out.value(folded).kind == ir::ValueKind::constant);
  CHECK(out.value(folded).data == std::vector<float>{2, 6});
  CHECK(output_op(out, 0) == "mul");
  CHECK(output_op(out, 1) == "broadcast_to"); // 1 element -> 100: left as a node
  check_same_values(g, out);
}

TEST_CASE("cse: identical nodes and constants are computed once") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({2, 2}));
  ir::ValueId c1 = g.add_constant("c1", f32({2}), {1, 2});
  ir::ValueId c2 = g.add_constant("c2", f32({2}), {1, 2});
  ir::ValueId a = g.add("bias_add", {x, c1}, {}, "a");
  ir::ValueId b = g.add("bias_add", {x, c2}, {}, "b"); // same as a once c2 is c1
  ir::ValueId s1 = g.add("softmax", {a}, {{"axis", int64_t(-1)}}, "s1");
  ir::ValueId s2 = g.add("softmax", {b}, {{"axis", int64_t(0)}}, "s2"); // other attributes
  g.add_output("sum", g.add("add", {s1, s2}, {}, "sum"));
  ir::Graph out = eliminate_common_subexpressions(g);
  ir::verify(out);
  CHECK(out.constants().size() == 1);
  CHECK(out.nodes().size() == 4); // bias_add, two softmaxes, add
  CHECK(out.find("b") == ir::kNoValue);
  check_same_values(g, out);
}

TEST_CASE("dce: removes what no output or update needs, keeps the interface") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({3}));
  ir::ValueId unused_in = g.add_input("unused", f32({3}));
  ir::ValueId w = g.add_param("w", f32({3}), {});
  ir::ValueId dead = g.add("relu", {unused_in}, {}, "dead");
  g.add("exp", {dead}, {}, "dead2");
  g.add_constant("unused_const", f32({}), {5});
  ir::ValueId y = g.add("mul", {x, w}, {}, "y");
  g.add_update(w, g.add("sub", {w, y}, {}, "w_new"));
  g.add_output("y", y);
  ir::Graph out = eliminate_dead_code(g);
  ir::verify(out);
  CHECK(out.nodes().size() == 2);
  CHECK(out.inputs().size() == 2);
  CHECK(out.constants().empty());
  CHECK(out.updates().size() == 1);
  CHECK(out.find("dead") == ir::kNoValue);
}

TEST_CASE("clean-up passes leave every example graph verified and computing the same outputs") {
  for (const char* name : {"mlp", "cnn", "xo", "residual"}) {
    ir::Graph g = testing::example_graph(name, 2, false);
    ir::Graph out = eliminate_dead_code(eliminate_common_subexpressions(fold_constants(canonicalize(g))));
    ir::verify(out);
    CHECK(out.nodes().size() <= g.nodes().size());
    check_same_values(g, out);
  }
}
