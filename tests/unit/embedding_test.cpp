// Token inputs end to end: the embedding_lookup / embedding_grad / one_hot ops in the
// interpreter (values worked out by hand), the runtime kernels (ids outside the
// vocabulary never touch memory), gradients against finite differences, and the JIT and
// emitted C++ against the interpreter on models with embedding and one_hot layers, and the
// JIT on examples/gru_tagger.json (token ids in, a class label per position).
#include "pipeline/runner.h"
#include "codegen_cpp_helpers.h"
#include "frontend/model.h"
#include "interp_test_helpers.h"
#include "ir/error.h"
#include "passes/gradcheck.h"
#include "runtime/kernels/embedding.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>

using namespace dlc;
using ir::testing::error_of;
using ir::testing::f32_tensor;
using ir::testing::run_op;

namespace {

// Token ids in [0, vocab) as floats, deterministic.
std::vector<float> token_ids(int64_t count, int64_t vocab, uint64_t stream) {
  std::vector<float> v;
  for (int64_t i = 0; i < count; i++)
    v.push_back(float(int64_t(dlc_rt::rng_uniform(11, stream, uint64_t(i)) * float(vocab))));
  return v;
}

const char* kEmbeddingModel = R"({
  "name": "embed_test", "input_shape": [5],
  "layers": [{"type": "embedding", "input_dim": 7, "output_dim": 3, "embeddings_initializer": {"type": "uniform", "limit": 0.5}},
             {"type": "flatten"},
             {"type": "dense", "units": 4, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 4})";

// Both token layers on one input, joined: the emitted C++ test covers both kernels.
const char* kEmbedOneHotModel = R"({
  "name": "embed_one_hot", "inputs": [{"name": "ids", "shape": [5]}], "outputs": ["out"],
  "layers": [{"name": "e", "type": "embedding", "inputs": "ids", "input_dim": 7, "output_dim": 3,
              "embeddings_initializer": {"type": "uniform", "limit": 0.5}},
             {"name": "o", "type": "one_hot", "inputs": "ids", "depth": 7},
             {"name": "cat", "type": "concat", "inputs": ["e", "o"]}, {"name": "f", "type": "flatten", "inputs": "cat"},
             {"name": "out", "type": "dense", "inputs": "f", "units": 4, "activation": "softmax"}],
  "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 4})";

const char* kOneHotModel = R"({
  "name": "one_hot_test", "input_shape": [5],
  "layers": [{"type": "one_hot", "depth": 7}, {"type": "flatten"},
             {"type": "dense", "units": 4, "activation": "softmax"}],
  "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}, "batch_size": 4})";

} // namespace

TEST_CASE("interp: embedding_lookup gathers table rows by id") {
  ir::Tensor table = f32_tensor({3, 2}, {0, 1, 10, 11, 20, 21});
  ir::testing::check_tensor(run_op("embedding_lookup", {f32_tensor({2, 2}, {2, 0, 1, 2}), table}),
                            {2, 2, 2}, {20, 21, 0, 1, 10, 11, 20, 21});
  CHECK(error_of([&] {
          run_op("embedding_lookup", {f32_tensor({1, 2}, {0, 3}), table});
        }) == "node 'n' (embedding_lookup): index 3 at position 1 is outside [0, 3)");
  CHECK(error_of([&] {
          run_op("embedding_lookup", {f32_tensor({1, 2}, {1.5, 0}), table});
        }) == "node 'n' (embedding_lookup): index 1.5 at position 0 is not an integer");
  CHECK(
      error_of([&] {
        run_op("embedding_lookup", {f32_tensor({2}, {0, 1}), f32_tensor({6}, {0, 0, 0, 0, 0, 0})});
      }).find("operand 1 must have rank 2, got f32[6]") != std::string::npos);
}

TEST_CASE("interp: embedding_grad adds gradient rows at their ids") {
  // ids 1, 1, 0: row 1 = dy0 + dy1, row 0 = dy2, row 2 untouched.
  ir::Tensor g =
      run_op("embedding_grad", {f32_tensor({3}, {1, 1, 0}), f32_tensor({3, 2}, {1, 2, 3, 4, 5, 6})},
             {{"vocabulary", int64_t(3)}});
  ir::testing::check_tensor(g, {3, 2}, {5, 6, 4, 6, 0, 0});
  CHECK(error_of([] {
          run_op("embedding_grad",
                 {f32_tensor({2}, {0, 1}), f32_tensor({3, 2}, {1, 2, 3, 4, 5, 6})},
                 {{"vocabulary", int64_t(3)}});
        }).find("does not fit ids f32[2]") != std::string::npos);
}

TEST_CASE("runtime: embedding kernels never index outside the table") {
  const float table[6] = {0, 1, 10, 11, 20, 21};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float ids[6] = {2, -1, 3, 1.5f, nan, 1e30f};
  float y[12];
  dlc_rt::embedding_lookup(6, 3, 2, ids, table, y);
  const float want[12] = {20, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 12; i++)
    CHECK(y[i] == want[i]);

  const float dy[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  float dt[6] = {9, 9, 9, 9, 9, 9};
  dlc_rt::embedding_grad(6, 3, 2, ids, dy, dt);
  const float want_dt[6] = {0, 0, 0, 0, 1, 2};
  for (int i = 0; i < 6; i++)
    CHECK(dt[i] == want_dt[i]);

  float oh[18];
  dlc_rt::one_hot(6, 3, ids, oh);
  const float want_oh[18] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 18; i++)
    CHECK(oh[i] == want_oh[i]);
}

TEST_CASE("frontend: embedding and one_hot layers") {
  frontend::Model m = frontend::load_model_text(kEmbeddingModel, "m.json");
  ir::Graph g = frontend::build_model(m, 2).graph;
  bool found = false;
  for (const ir::Node& n : g.nodes())
    if (n.op->name == "embedding_lookup") {
      found = true;
      CHECK(g.type(n.results[0]).str() == "f32[2,5,3]");
      CHECK(g.type(n.operands[1]).str() == "f32[7,3]");
    }
  CHECK(found);
  ir::Graph g2 = frontend::build_model(frontend::load_model_text(kOneHotModel, "m.json"), 2).graph;
  CHECK(g2.type(g2.outputs()[0].value).str() == "f32[2,4]");
  CHECK(
      error_of([] {
        frontend::load_model_text(
            R"({"input_shape": [4], "layers": [{"type": "dense", "units": 3}, {"type": "embedding", "input_dim": 0, "output_dim": 2}]})",
            "m.json");
      }).find("input_dim") != std::string::npos);
}

TEST_CASE("gradcheck: an embedding model's table gradient matches finite differences") {
  frontend::Model m = frontend::load_model_text(kEmbeddingModel, "m.json");
  passes::GradCheckOptions opt;
  opt.max_entries = 21; // every entry of the 7x3 table
  passes::GradCheckResult r =
      passes::check_model_gradients(frontend::build_model(m, 3).graph, m.training, opt);
  REQUIRE(r.values.size() == 3);
  CHECK(r.values[0].name == "embedding_1.embeddings");
  for (auto& v : r.values) {
    INFO(v.name, ": worst ", v.worst);
    CHECK(v.worst <= 1e-5);
    CHECK(v.checked > 0);
  }
}

namespace {

// One batch: ids, and targets in the runner's form (class ids, or one-hot rows).
void batch_of(int64_t n, int64_t step, bool one_hot_targets, std::vector<float>& x,
              std::vector<float>& t) {
  x = token_ids(n * 5, 7, 100 + uint64_t(step));
  std::vector<float> labels = token_ids(n, 4, 200 + uint64_t(step));
  t.clear();
  for (float l : labels) {
    if (!one_hot_targets) {
      t.push_back(l);
      continue;
    }
    for (int k = 0; k < 4; k++)
      t.push_back(float(k) == l ? 1.0f : 0.0f);
  }
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0, s = 1e-30;
  for (size_t i = 0; i < a.size(); i++)
    d = std::max(d, std::fabs(a[i] - b[i])), s = std::max(s, std::fabs(b[i]));
  return d / s;
}

// Trains the JIT and the interpreter side by side from the same initialisation for
// `steps` steps, the last on a partial batch of 3: each step's loss and outputs agree to
// 1e-5, every parameter and state after the last to 1e-4. batch(step, n, x, t) fills a
// step's inputs and targets; outs: output floats per sample.
void check_jit_trains_like_ref(
    const frontend::Model& m, uint64_t seed, int64_t steps, double lr, int64_t outs,
    const std::function<void(int64_t, int64_t, std::vector<float>&, std::vector<float>&)>& batch) {
  auto jit = pipeline::make_runner("jit", m, 4);
  auto ref = pipeline::make_runner("ref", m, 4);
  jit->init(seed);
  ref->init(seed);
  for (int64_t step = 0; step < steps; step++) {
    int64_t n = step == steps - 1 ? 3 : 4; // a partial batch last
    std::vector<float> x, t, out_j(size_t(n * outs)), out_r(size_t(n * outs));
    batch(step, n, x, t);
    double lj = jit->train_step(x.data(), t.data(), n, lr, step, out_j.data());
    double lr_loss = ref->train_step(x.data(), t.data(), n, lr, step, out_r.data());
    CHECK(lj == doctest::Approx(lr_loss).epsilon(1e-5));
    CHECK(max_rel_diff(std::vector<double>(out_j.begin(), out_j.end()),
                       std::vector<double>(out_r.begin(), out_r.end())) <= 1e-5);
  }
  ir::Bindings vj = jit->values(), vr = ref->values();
  for (auto& [name, tj] : vj) {
    CAPTURE(name);
    CHECK(max_rel_diff(tj.data, vr.at(name).data) <= 1e-4);
  }
}

} // namespace

TEST_CASE("the JIT trains embedding and one_hot models as the interpreter does") {
  for (const char* text : {kEmbeddingModel, kOneHotModel}) {
    frontend::Model m = frontend::load_model_text(text, "m.json");
    CAPTURE(m.name);
    bool one_hot_targets = m.training.losses.at(0).type == "categorical_crossentropy";
    check_jit_trains_like_ref(m, 3, 5, 0.05, 4, [&](int64_t step, int64_t n, auto& x, auto& t) {
      batch_of(n, step, one_hot_targets, x, t);
    });
  }
}

TEST_CASE("emitted C++ trains an embedding + one_hot model as the interpreter does") {
  using namespace dlc::test_cpp;
  frontend::Model m = frontend::load_model_text(kEmbedOneHotModel, "m.json");
  well_conditioned(m);
  codegen::CppOptions o;
  o.train = true;
  o.batch = 4;
  Build b = build(m, o, "g++", "-O1", "embedding");
  const int steps = 10;
  std::vector<float> x, t;
  for (int s = 0; s < steps; s++) {
    std::vector<float> xs, ts;
    batch_of(4, s % 2, false, xs, ts); // two batches in turn: the loss falls
    x.insert(x.end(), xs.begin(), xs.end());
    t.insert(t.end(), ts.begin(), ts.end());
  }
  // Inference of the first batch from the seed's parameters.
  write_floats(b.dir / "x.bin", std::vector<float>(x.begin(), x.begin() + 20));
  run(b, fmt::format("infer {} 4 x.bin y.bin", kSeed));
  std::vector<double> want = reference_outputs(m, 4, std::vector<float>(x.begin(), x.begin() + 20));
  CHECK(relative_error(read_floats(b.dir / "y.bin"), want) <= 1e-5);
  // The losses of ten steps.
  write_floats(b.dir / "x.bin", x);
  write_floats(b.dir / "t.bin", t);
  run(b, fmt::format("train {} 4 {} x.bin t.bin losses.bin params.bin", kSeed, steps));
  Reference r = reference_training(m, 4, steps, x, t);
  std::vector<float> losses = read_floats(b.dir / "losses.bin");
  REQUIRE(losses.size() == size_t(steps));
  for (int s = 0; s < steps; s++) {
    CAPTURE(s);
    CHECK(std::fabs(losses[size_t(s)] - r.losses[size_t(s)]) <=
          1e-4 * std::max(1.0, std::fabs(r.losses[size_t(s)])));
  }
  CHECK(r.losses.back() < r.losses.front());
  fs::remove_all(b.dir);
}

TEST_CASE("the JIT trains the GRU tagger example (ids in, a label per position) as the interpreter "
          "does") {
  frontend::Model m =
      frontend::load_model(std::string(DLC_SOURCE_DIR) + "/examples/gru_tagger.json");
  check_jit_trains_like_ref(m, 5, 3, 0.01, 36, [](int64_t step, int64_t n, auto& x, auto& t) {
    x = token_ids(n * 12, 8, 300 + uint64_t(step));
    t = token_ids(n * 12, 3, 400 + uint64_t(step));
  });
}
