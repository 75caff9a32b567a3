// Property test: a few hundred random graphs (seeded, small) go through the whole
// pipeline with verification after every pass; each plan must be sound, and the
// compiled program must compute what the interpreter computes.
#include "passes/plan_check.h"
#include "passes_test_helpers.h"

#include <random>

using namespace dlc;
using namespace dlc::passes;
using dlc::passes::testing::f32;

namespace {

// Random DAGs over float values of a few 2-D shapes (and their 1-D rows): element-wise
// ops (some with broadcast, dropout evaluated in training mode for even seeds), matmuls, reductions, softmax, transposes, views, concat;
// outputs at random; some params and state updated from computed values or inputs.
struct RandomGraph {
  std::mt19937 rng;
  ir::Graph g;
  std::vector<ir::ValueId> pool;

  explicit RandomGraph(uint32_t seed) : rng(seed) {}

  int pick(int n) { return int(rng() % uint32_t(n)); }
  ir::ValueId any() { return pool[size_t(pick(int(pool.size())))]; }
  const ir::Shape& shape(ir::ValueId v) { return g.type(v).shape; }
  // A pool value of shape `s`, or kNoValue.
  ir::ValueId with_shape(const ir::Shape& s) {
    std::vector<ir::ValueId> c;
    for (ir::ValueId v : pool)
      if (shape(v) == s) c.push_back(v);
    return c.empty() ? ir::kNoValue : c[size_t(pick(int(c.size())))];
  }

  void add_node() {
    static const char* unary[] = {"relu", "sigmoid", "tanh", "neg", "square", "abs"};
    static const char* binary[] = {"add", "sub", "mul", "maximum"};
    ir::ValueId x = any();
    const ir::Shape s = shape(x);
    ir::ValueId y = ir::kNoValue;
    switch (pick(10)) {
    case 0: case 1: y = g.add(unary[pick(6)], {x}); break;
    case 2:
      y = pick(2) ? g.add("scale", {x}, {{"scale", 0.5}, {"offset", 0.25}})
                  : g.add("dropout", {x}, {{"rate", 0.5}, {"stream", int64_t(pick(3))}});
      break;
    case 3: case 4: {
      ir::ValueId o = with_shape(s);
      if (s.rank() == 2 && pick(3) == 0) o = with_shape(ir::Shape{s[1]}); // broadcast a row
      if (o != ir::kNoValue) y = g.add(binary[pick(4)], {x, o});
      break;
    }
    case 5:
      if (s.rank() == 2) {
        ir::ValueId w = ir::kNoValue;
        for (int tries = 0; tries < 4 && w == ir::kNoValue; tries++) {
          ir::ValueId c = any();
          if (shape(c).rank() == 2 && shape(c)[0] == s[1]) w = c;
        }
        if (w != ir::kNoValue) y = g.add("matmul", {x, w});
      }
      break;
    case 6:
      if (s.rank() == 2) y = g.add("reduce_sum", {x}, {{"axes", std::vector<int64_t>{int64_t(pick(2))}}});
      break;
    case 7:
      if (s.rank() == 2) y = pick(2) ? g.add("softmax", {x}, {{"axis", int64_t(-1)}})
                                     : g.add("transpose", {x}, {{"perm", std::vector<int64_t>{1, 0}}});
      break;
    case 8:
      if (s.rank() == 2) {
        ir::ValueId r = g.add("reshape", {x}, {{"shape", std::vector<int64_t>{s.numel()}}});
        y = g.add("reshape", {pick(2) ? r : g.add("exp", {r})}, {{"shape", s.dims}});
      }
      break;
    case 9:
      if (s.rank() == 2) {
        ir::ValueId o = with_shape(s);
        if (o != ir::kNoValue) y = g.add("concat", {x, o}, {{"axis", int64_t(0)}});
      }
      break;
    }
    if (y != ir::kNoValue) pool.push_back(y);
  }

  ir::Graph build() {
    int64_t a = 1 + pick(4), b = 1 + pick(4);
    pool.push_back(g.add_input("x", f32({a, b})));
    pool.push_back(g.add_input("u", f32({b})));
    std::vector<ir::ValueId> params = {g.add_param("w", f32({b, a}), {"glorot_uniform"}),
                                       g.add_param("v", f32({a, b}), {"glorot_uniform"}),
                                       g.add_state("s", f32({b}), {"ones"})};
    for (ir::ValueId p : params) pool.push_back(p);
    int nodes = 3 + pick(25);
    while (int(g.nodes().size()) < nodes) add_node();
    g.add_output("last", pool.back());
    for (int i = pick(3); i > 0; i--) g.add_output("out" + std::to_string(i), any());
    for (ir::ValueId p : params) {
      if (pick(2)) continue;
      ir::ValueId v = with_shape(shape(p));
      if (v == p) v = g.add("scale", {p}, {{"scale", 0.9}});
      if (v != ir::kNoValue) g.add_update(p, v);
    }
    return std::move(g);
  }
};

} // namespace

TEST_CASE("property: random graphs compile to sound plans that compute the interpreter's values") {
  int graphs = 300, kernels = 0, in_place = 0, copies = 0;
  for (int seed = 0; seed < graphs; seed++) {
    ir::Graph g = RandomGraph(uint32_t(seed)).build();
    INFO("seed " << seed);
    Program p = compile(g);
    auto problems = check_plan(p);
    INFO((problems.empty() ? "" : problems[0]));
    REQUIRE(problems.empty());
    CHECK(p.arena_size() >= p.lower_bound);
    testing::check_equivalent(g, p, uint64_t(seed), seed % 2 == 0); // odd seeds: dropout as identity
    kernels += int(p.kernels.size());
    for (const Buffer& b : p.buffers) in_place += b.reuses >= 0;
    for (const UpdateWrite& u : p.update_writes) copies += u.copy;
  }
  // The generator reaches the interesting cases.
  CHECK(kernels > graphs);
  CHECK(in_place > 10);
  CHECK(copies > 10);
}
