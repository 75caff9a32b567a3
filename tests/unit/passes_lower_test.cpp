// The lower pass (passes/lower.h): index arithmetic, the batch analysis, where anchor
// results go, epilogue folding, temporaries and workspaces as planned buffers. End-to-end
// parity is in codegen_cpp_*_test.cpp; the arena against what ships in cli/plan.sh.
#include "frontend/model.h"
#include "passes/lower.h"
#include "passes/lower_detail.h"
#include "passes/pass_manager.h"
#include "pipeline/pipeline.h"

#include <doctest/doctest.h>

namespace dlc::passes {

namespace {

ir::TensorType f32(ir::Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

std::vector<int64_t> offsets(const Index& idx, int64_t count) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; i++) out.push_back(idx.at(i));
  return out;
}

Program compile_example(const std::string& name, int64_t batch, bool train) {
  frontend::Model m = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json");
  return pipeline::compile(m, train ? ProgramKind::training : ProgramKind::inference, batch);
}

const Kernel& kernel(const Program& p, const std::string& name) {
  for (const Kernel& k : p.kernels)
    if (k.name == name) return k;
  FAIL("no kernel " << name);
  return p.kernels[0];
}

} // namespace

TEST_CASE("lowering: broadcast and strided index arithmetic") {
  using lower_detail::broadcast_index;
  using lower_detail::strided_index;
  CHECK(broadcast_index({2, 3}, {2, 3}).identity());
  CHECK(offsets(broadcast_index({3}, {2, 3}), 6) == std::vector<int64_t>{0, 1, 2, 0, 1, 2});      // bias
  CHECK(offsets(broadcast_index({2, 1}, {2, 3}), 6) == std::vector<int64_t>{0, 0, 0, 1, 1, 1});   // per row
  CHECK(broadcast_index({}, {2, 3}).scalar());                                                     // lr
  CHECK(offsets(broadcast_index({1, 2, 1}, {2, 2, 2}), 8) == std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
  // transpose of a [2, 3] matrix: out (r, c) of [3, 2] reads in (c, r) = c * 3 + r
  CHECK(offsets(strided_index({3, 2}, {1, 3}), 6) == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  // the columns [1, 3) of [2, 4]: out (r, c) of [2, 2] reads in r * 4 + c (plus the begin offset)
  CHECK(offsets(strided_index({2, 2}, {4, 1}), 4) == std::vector<int64_t>{0, 1, 4, 5});
}

TEST_CASE("lowering: batch-scaled extents, folded epilogues, temporaries and workspaces as planned buffers") {
  Program l = compile_example("mlp", 100, true);
  CHECK(l.batch == 100);
  // forward: m scales with n, bias and sigmoid folded into the GEMM, straight into its output
  const Call& fwd = kernel(l, "k0_dense_1.matmul").steps.at(0).call;
  REQUIRE(kernel(l, "k0_dense_1.matmul").steps.size() == 1);
  CHECK(fwd.fn == "dlc_rt_matmul_bias_act");
  CHECK(fwd.args[2].integer.batched);
  CHECK(fwd.args[2].integer.at(7) == 7);
  CHECK(fwd.args[11].kind == ArgKind::pointer); // bias
  CHECK(fwd.args[12].integer.per == 2);         // sigmoid
  CHECK(fwd.args[12].symbol == "DLC_RT_ACT_SIGMOID");
  CHECK(fwd.args[9].written);
  CHECK(!fwd.args[5].written);
  CHECK(l.buffers[size_t(fwd.args[9].ref.buffer)].name == "dense_1.sigmoid");
  // The GEMM's workspace: a buffer of the kernel, live while it runs, placed in the arena.
  const Buffer& ws = l.buffers[size_t(fwd.args.back().ref.buffer)];
  CHECK(ws.kind == BufferKind::workspace);
  CHECK(ws.kernel == kernel(l, "k0_dense_1.matmul").id);
  CHECK(ws.first == ws.last);
  CHECK(ws.offset + ws.bytes <= l.arena_size());
  // dW = x^T dy contracts over the samples (k = n) and goes to a temporary the SGD loop reads
  const Kernel& dw = kernel(l, "k11_dense_1.matmul.grad");
  REQUIRE(dw.steps.size() == 2);
  CHECK(dw.steps[0].call.fn == "dlc_rt_matmul"); // no epilogue: no bias, act or slope arguments
  CHECK(dw.steps[0].call.args.size() == 12);
  CHECK(dw.steps[0].call.args[4].integer.batched);
  CHECK(!dw.steps[0].call.args[2].integer.batched);
  const Buffer& tmp = l.buffers[size_t(dw.steps[0].call.args[9].ref.buffer)];
  CHECK(tmp.kind == BufferKind::temporary);
  CHECK(tmp.first == l.kernel_index(dw.id));
  CHECK(tmp.last == tmp.first);
  const Loop& update = dw.steps[1].loop;
  CHECK(!update.trip.batched);
  CHECK(update.trip.per == 784 * 500);
  CHECK(update.operands[2].index.scalar()); // lr
  CHECK(update.body.back().op_name == "sgd_update");
  CHECK(l.find("loss", true) != nullptr);
  CHECK(l.find("input")->batched);
  CHECK(!l.find("lr")->batched);
  // The lower bound counts every buffer, temporaries and workspaces included.
  int64_t largest_step = 0;
  for (size_t s = 0; s < l.kernels.size(); s++) {
    int64_t live = 0;
    for (const Buffer& b : l.buffers)
      if (b.region == Region::arena && b.first <= int(s) && int(s) <= b.last && b.reuses < 0) live += b.size;
    largest_step = std::max(largest_step, live);
  }
  CHECK(l.lower_bound >= largest_step);
  CHECK(l.arena_size() >= l.lower_bound);
}

TEST_CASE("lowering: a value that mixes samples is an error naming the node") {
  ir::Graph g;
  g.batch = 4;
  ir::ValueId x = g.add_input("x", f32({4, 3}));
  ir::ValueId r = g.add("reshape", {x}, {{"shape", std::vector<int64_t>{6, 2}}}, "merge");
  g.add_output("y", g.add("relu", {r}));
  CHECK_THROWS_WITH(passes::compile(g),
                    doctest::Contains("node 'merge' (reshape): cannot follow the batch axis: its rows would split samples"));
}

} // namespace dlc::passes
