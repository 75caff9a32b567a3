// The verifier (ir/verifier.cpp): graphs broken by hand are rejected with a message that
// names the node or value at fault; every example model's graph verifies.
#include "frontend/model.h"
#include "ir/verifier.h"
#include "interp_test_helpers.h"

#include <filesystem>

using namespace dlc::ir;
using dlc::ir::testing::error_of;

namespace {

// x: f32[2,3] · dense_1.kernel: f32[3,4] -> dense_1 (matmul) -> act_1 (relu) -> act_2 (tanh)
struct SmallGraph {
  Graph g;
  ValueId x, w, mm, a1, a2;
  SmallGraph() {
    x = g.add_input("x", {DType::f32, {2, 3}});
    w = g.add_param("dense_1.kernel", {DType::f32, {3, 4}}, {});
    mm = g.add("matmul", {x, w}, {}, "dense_1");
    a1 = g.add("relu", {mm}, {}, "act_1");
    a2 = g.add("tanh", {a1}, {}, "act_2");
    g.add_output("y", a2);
  }
};

std::string verify_error(const Graph& g) {
  return error_of([&] { verify(g); });
}

} // namespace

TEST_CASE("verifier: a well-formed graph passes") {
  SmallGraph s;
  CHECK_NOTHROW(verify(s.g));
}

TEST_CASE("verifier: a tampered result type names the node and both types") {
  SmallGraph s;
  s.g.value(s.mm).type = TensorType{DType::f32, {3, 3}};
  CHECK(verify_error(s.g) == "node 'dense_1' (matmul): result %dense_1 has type f32[3,3], the op infers f32[2,4]");
  SmallGraph t;
  t.g.value(t.a2).type.dtype = DType::i32;
  CHECK(verify_error(t.g) == "node 'act_2' (tanh): result %act_2 has type i32[2,4], the op infers f32[2,4]");
}

TEST_CASE("verifier: use before definition") {
  SmallGraph s;
  s.g.node(1).operands[0] = s.a2; // act_1 reads act_2, which comes after it
  CHECK(verify_error(s.g) == "node 'act_1' (relu): operand %act_2 is used before it is defined");
  SmallGraph self;
  self.g.node(2).operands[0] = self.a2; // act_2 reads its own result
  CHECK(verify_error(self.g) == "node 'act_2' (tanh): operand %act_2 is used before it is defined");
}

TEST_CASE("verifier: dangling references and broken links") {
  SmallGraph s;
  s.g.node(1).operands[0] = 99;
  CHECK(verify_error(s.g) == "node 'act_1' (relu): operand %99 does not exist");

  SmallGraph r;
  r.g.value(r.a1).node = 2; // act_1's value claims act_2 made it
  CHECK(verify_error(r.g) == "node 'act_1' (relu): result %act_1 is not linked to it");

  SmallGraph o;
  o.g.add_output("z", 42);
  CHECK(verify_error(o.g) == "output 'z': refers to no value");

  SmallGraph n;
  n.g.node(1).operands.push_back(n.x); // relu with two operands
  CHECK(verify_error(n.g) == "node 'act_1' (relu): expects 1 operand, got 2");

  SmallGraph a;
  a.g.node(0).attrs.set("transpose_b", true); // [2,3] · [3,4]ᵀ no longer fits
  CHECK(verify_error(a.g) == "node 'dense_1' (matmul): inner dimensions differ: [2,3] · [3,4]ᵀ");
}

TEST_CASE("verifier: names, constants and updates") {
  SmallGraph s;
  s.g.value(s.a1).name = std::string("x"); // not = "x": GCC 12 -O2 warns falsely (-Wrestrict)
  CHECK(verify_error(s.g) == "value %x: name used twice");

  Graph c;
  ValueId k = c.add_constant("k", {DType::f32, {2}}, {1, 2});
  c.value(k).data.pop_back();
  CHECK(verify_error(c) == "const %k: 1 values for f32[2]");

  SmallGraph u;
  u.g.add_update(u.w, u.mm);
  CHECK(verify_error(u.g) == "update of %dense_1.kernel: type f32[3,4] receives f32[2,4]");
  SmallGraph v;
  v.g.add_update(v.x, v.mm);
  CHECK(verify_error(v.g) == "update of %x: only params and state can be updated");
}

TEST_CASE("verifier: every example model builds to a graph that verifies") {
  int models = 0;
  for (auto& entry : std::filesystem::directory_iterator(std::string(DLC_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().string());
    auto model = dlc::frontend::load_model(entry.path().string());
    for (int64_t batch : {1, 3}) CHECK_NOTHROW(verify(dlc::frontend::build_model(model, batch).graph));
    models++;
  }
  CHECK(models >= 4);
}
