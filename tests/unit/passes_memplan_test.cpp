// Memory planning: every example's plan is sound and within 5% of the lower bound; the
// planner shares memory, reuses in place and writes updates in place; the checker finds
// broken plans; and compiled examples compute what the interpreter computes.
#include "passes/memplan.h"
#include "passes/plan_check.h"
#include "passes_test_helpers.h"

using namespace dlc;
using namespace dlc::passes;
using dlc::passes::testing::f32;

namespace {

const Buffer& buffer_for(const Program& p, const std::string& value) {
  ir::ValueId v = p.graph.find(value);
  REQUIRE(v != ir::kNoValue);
  REQUIRE(p.buffer_of[size_t(v)] >= 0);
  return p.buffers[size_t(p.buffer_of[size_t(v)])];
}

int64_t batch_size(const std::string& name) {
  return frontend::load_model(testing::example(name)).training.batch_size;
}

const char* kExamples[] = {"mlp", "mlp_relu_adam", "cnn", "xo", "residual", "two_inputs_two_outputs", "vgg16"};

} // namespace

TEST_CASE("memplan: every example, training and inference, at batch 1 and its batch size, "
          "is sound and within 1.05 of the lower bound") {
  for (const char* name : kExamples)
    for (bool train : {false, true})
      for (int64_t batch : {int64_t(1), batch_size(name)}) {
        Program p = compile(testing::example_graph(name, batch, train));
        INFO(name << (train ? " training" : " inference") << " at batch " << batch << ": arena "
                  << p.arena_size() << ", bound " << p.lower_bound);
        CHECK(check_plan(p).empty());
        CHECK(p.arena_size() >= p.lower_bound);
        CHECK(double(p.arena_size()) <= 1.05 * double(p.lower_bound));
      }
}

TEST_CASE("memplan: regions, alignment and sharing on a dense network") {
  Program p = compile(testing::example_graph("mlp", 4, false));
  CHECK(buffer_for(p, "dense_1.kernel").region == Region::constants); // no update: inference weights
  CHECK(buffer_for(p, "input").region == Region::arena);
  for (const Buffer& b : p.buffers) CHECK(b.offset % kAlignment == 0);
  // input dies when dense_2.sigmoid is born: they may share bytes.
  CHECK(buffer_for(p, "dense_2.sigmoid").offset == buffer_for(p, "input").offset);
  CHECK(p.arena_size() == p.lower_bound);
}

TEST_CASE("memplan: an element-wise epilogue reuses the buffer of an operand that dies there") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({2, 3}));
  ir::ValueId w1 = g.add_param("w1", f32({3, 3}), {"ones"});
  ir::ValueId w2 = g.add_param("w2", f32({3, 3}), {"ones"});
  ir::ValueId a = g.add("matmul", {x, w1}, {}, "a");
  ir::ValueId b = g.add("matmul", {x, w2}, {}, "b");
  g.add_output("c", g.add("add", {b, a}, {}, "c")); // residual add: the epilogue of b's matmul
  Program p = compile(g);
  const Buffer& c = buffer_for(p, "c");
  REQUIRE(c.reuses >= 0);
  CHECK(p.buffers[size_t(c.reuses)].name == "a");
  CHECK(c.offset == buffer_for(p, "a").offset);
  CHECK(check_plan(p).empty());
  testing::check_equivalent(g, p, 3, false);
}

TEST_CASE("memplan: an update is computed into its parameter after the parameter's last reader") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({4, 3}));
  ir::ValueId w = g.add_param("w", f32({3, 2}), {"glorot_uniform"});
  ir::ValueId y = g.add("matmul", {x, w}, {}, "y");
  ir::ValueId gw = g.add("matmul", {x, y}, {{"transpose_a", true}}, "gw");
  g.add_update(w, g.add("sub", {w, g.add("scale", {gw}, {{"scale", 0.1}}, "step")}, {}, "w_new"));
  g.add_output("y", y);
  Program p = compile(g);
  REQUIRE(p.update_writes.size() == 1);
  CHECK_FALSE(p.update_writes[0].copy);
  CHECK(p.buffer_of[size_t(p.graph.find("w_new"))] == p.buffer_of[size_t(p.graph.find("w"))]);
  CHECK(p.kernels.size() == 2); // y; gw with the update as its epilogue
  CHECK(p.kernels.back().name.find("gw") != std::string::npos);
  testing::check_equivalent(g, p, 4, true);
}

TEST_CASE("memplan: updates from inputs, shared values and outputs of updated state get copies") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({3}));
  ir::ValueId s = g.add_state("s", f32({3}), {});
  ir::ValueId t = g.add_state("t", f32({3}), {});
  ir::ValueId u = g.add_state("u", f32({3}), {});
  ir::ValueId y = g.add("add", {x, s}, {}, "y");
  g.add_update(s, x); // an input: nothing computes it
  g.add_update(t, y); // y is also an output; computed in place into t
  g.add_update(u, y); // y is taken: u gets a copy
  g.add_output("y", y);
  g.add_output("s", s); // the value s had before the step
  Program p = compile(g);
  REQUIRE(p.update_writes.size() == 3);
  for (const UpdateWrite& w : p.update_writes) CHECK_FALSE(w.copy);
  CHECK(p.graph.find("x.copy") != ir::kNoValue);
  CHECK(p.graph.find("y.copy") != ir::kNoValue);
  CHECK(p.graph.find("s.copy") != ir::kNoValue);
  CHECK(check_plan(p).empty());
  testing::check_equivalent(g, p, 5, false);
}

TEST_CASE("memplan: an update computed by an anchor that reads its target is copied in") {
  ir::Graph g;
  ir::ValueId t = g.add_state("t", f32({2, 2}), {"glorot_uniform"});
  ir::ValueId sq = g.add("matmul", {t, t}, {}, "sq"); // reads t across elements
  g.add_update(t, sq);
  g.add_output("trace_ish", g.add("reduce_sum", {sq}, {}, "sum"));
  Program p = compile(g);
  REQUIRE(p.update_writes.size() == 1);
  CHECK(p.update_writes[0].copy);
  CHECK(p.kernels.back().name == "k2_update.t");
  CHECK(check_plan(p).empty());
  testing::check_equivalent(g, p, 6, false);
}

TEST_CASE("plan checker: finds overlapping live buffers, misalignment, regions and bad order") {
  Program good = compile(testing::example_graph("cnn", 2, true));
  REQUIRE(check_plan(good).empty());
  auto find_live_pair = [&](const Program& p) {
    for (size_t a = 0; a < p.buffers.size(); a++)
      for (size_t b = 0; b < p.buffers.size(); b++)
        if (a != b && p.buffers[a].region == Region::arena && p.buffers[b].region == Region::arena &&
            p.buffers[a].first <= p.buffers[b].last && p.buffers[b].first <= p.buffers[a].last &&
            p.buffers[b].reuses != int(a) && p.buffers[a].reuses != int(b))
          return std::pair{a, b};
    return std::pair{size_t(0), size_t(0)};
  };
  Program overlap = good;
  auto [a, b] = find_live_pair(overlap);
  REQUIRE(a != b);
  overlap.buffers[b].offset = overlap.buffers[a].offset;
  auto problems = check_plan(overlap);
  REQUIRE_FALSE(problems.empty());
  CHECK(problems[0].find("overlap") != std::string::npos);

  Program misaligned = good;
  misaligned.buffers[a].offset += 4;
  CHECK_FALSE(check_plan(misaligned).empty());

  Program outside = good;
  outside.region_size[size_t(Region::arena)] = outside.lower_bound / 2;
  CHECK_FALSE(check_plan(outside).empty());

  Program reordered = good;
  std::swap(reordered.kernels.front(), reordered.kernels.back());
  CHECK_FALSE(check_plan(reordered).empty());
  CHECK_THROWS_WITH_AS(verify_plan(reordered), doctest::Contains("unsound memory plan"), Error);
}
