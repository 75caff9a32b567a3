// The backend-neutral lowering (codegen/lowering.h): index arithmetic, the batch
// analysis, where anchor results go, epilogue folding, parameter sharing between the
// inference and training programs. End-to-end parity is in codegen_cpp_*_test.cpp.
#include "codegen/lowering.h"
#include "codegen/lowering_detail.h"
#include "frontend/model.h"
#include "passes/pass_manager.h"
#include "passes/training.h"

#include <doctest/doctest.h>

namespace dlc::codegen {

namespace {

ir::TensorType f32(ir::Shape s) { return ir::TensorType{ir::DType::f32, std::move(s)}; }

std::vector<int64_t> offsets(const Index& idx, int64_t count) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; i++) out.push_back(idx.at(i));
  return out;
}

Lowered lower_example(const std::string& name, int64_t batch, bool train) {
  frontend::Model m = frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/" + name + ".json");
  ir::Graph g = frontend::build_model(m, batch).graph;
  if (train) g = passes::build_training_graph(g, m.training).graph;
  return lower(passes::compile(g));
}

const LoweredKernel& kernel(const Lowered& l, const std::string& name) {
  for (const LoweredKernel& k : l.kernels)
    if (k.name == name) return k;
  FAIL("no kernel " << name);
  return l.kernels[0];
}

} // namespace

TEST_CASE("lowering: broadcast and strided index arithmetic") {
  using lowering_detail::broadcast_index;
  using lowering_detail::strided_index;
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

TEST_CASE("lowering: batch-scaled extents, folded epilogues, temporaries after the planned arena") {
  Lowered l = lower_example("mlp", 100, true);
  CHECK(l.batch == 100);
  // forward: m scales with n, bias and sigmoid folded into the GEMM, straight into its output
  const Call& fwd = kernel(l, "k0_dense_1.matmul").steps.at(0).call;
  REQUIRE(kernel(l, "k0_dense_1.matmul").steps.size() == 1);
  CHECK(fwd.fn == "dlc_rt_gemm");
  CHECK(fwd.args[2].integer.batched);
  CHECK(fwd.args[2].integer.at(7) == 7);
  CHECK(fwd.args[13].kind == ArgKind::pointer); // bias
  CHECK(fwd.args[14].integer.per == 2);         // sigmoid
  // dW = x^T dy contracts over the samples (k = n) and goes to a temporary the SGD loop reads
  const LoweredKernel& dw = kernel(l, "k11_dense_1.matmul.grad");
  REQUIRE(dw.steps.size() == 2);
  CHECK(dw.steps[0].call.args[4].integer.batched);
  CHECK(!dw.steps[0].call.args[2].integer.batched);
  CHECK(dw.steps[0].call.args[11].ref.offset >= l.planned_arena);
  const Loop& update = dw.steps[1].loop;
  CHECK(!update.trip.batched);
  CHECK(update.trip.per == 784 * 500);
  CHECK(update.operands[2].index.scalar()); // lr
  CHECK(update.body.back().op_name == "sgd_update");
  CHECK(l.workspace_offset >= l.planned_arena);
  CHECK(l.region_size[size_t(passes::Region::arena)] > l.workspace_offset);
  CHECK(l.find("loss", true) != nullptr);
  CHECK(l.find("input")->batched);
  CHECK(!l.find("lr")->batched);
}

TEST_CASE("lowering: the inference program reads the training program's parameters") {
  Lowered infer = lower_example("xo", 8, false), train = lower_example("xo", 8, true);
  CHECK(infer.find("conv2d_1.kernel")->ref.region == passes::Region::constants);
  share_persistent(infer, train);
  const NamedValue* k = infer.find("conv2d_1.kernel");
  CHECK(k->ref.region == passes::Region::state);
  CHECK(k->ref.offset == train.find("conv2d_1.kernel")->ref.offset);
  const Call& conv = infer.kernels.at(0).steps.at(0).call;
  CHECK(conv.fn == "dlc_rt_conv2d_forward");
  CHECK(conv.args[14].ref.region == passes::Region::state); // the filter
  CHECK(conv.args[14].ref.offset == k->ref.offset);
}

TEST_CASE("lowering: a value that mixes samples is an error naming the node") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", f32({4, 3}));
  ir::ValueId r = g.add("reshape", {x}, {{"shape", std::vector<int64_t>{6, 2}}}, "merge");
  g.add_output("y", g.add("relu", {r}));
  CHECK_THROWS_WITH(lower(passes::compile(g)),
                    doctest::Contains("node 'merge' (reshape): cannot follow the batch axis: its rows would split samples"));
}

} // namespace dlc::codegen
