// Several inputs and several trained outputs (issue #19): Keras's loss dict and
// loss_weights, the weighted total and its parts worked out by hand on both runners, data
// named per input and output (--data NAME=FILE.npy,...), the trainer's per-output metrics,
// and bad input. The emitted C++ and the JIT train such a model as the interpreter does
// (kMultiOutputModel in codegen_cpp_parity_test.cpp and codegen_jit_cpp_parity_test.cpp).
#include "error_of.h"
#include "frontend/dataset.h"
#include "frontend/files.h"
#include "frontend/model.h"
#include "ir/training_spec.h"
#include "passes/training.h"
#include "pipeline/runner.h"
#include "runtime/npy.h"
#include "tools/train_data.h"
#include "codegen/jit_backend.h"
#include "pipeline/pipeline.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

using namespace dlc;
namespace fs = std::filesystem;

namespace {

// Two linear heads without bias on one input x [2]: u = w_u . x, v = w_v . x.
std::string two_heads(const std::string& training) {
  return R"({"name": "two_heads", "inputs": [{"name": "x", "shape": [2]}],
    "layers": [{"type": "dense", "name": "u", "inputs": "x", "units": 1, "use_bias": false},
               {"type": "dense", "name": "v", "inputs": "x", "units": 1, "use_bias": false}],
    "outputs": ["u", "v"], )" + training + "}";
}

std::string load_error(const std::string& training) {
  return error_of([&] { frontend::load_model_text(two_heads(training), "m.json"); });
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("dlc-multi-output-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_npy(const std::string& path, std::vector<int64_t> shape, std::vector<float> data) {
  frontend::write_file_atomic(path, dlc_rt::npy_bytes(dlc_rt::Array{shape, data, "f32"}));
}

// Class labels as NumPy writes them: a 1-D int64 array.
void write_labels(const std::string& path, const std::vector<int64_t>& labels) {
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + std::to_string(labels.size()) + ",), }";
  header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out = std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xff) + char(header.size() >> 8) + header;
  out.append(reinterpret_cast<const char*>(labels.data()), labels.size() * sizeof(int64_t));
  frontend::write_file_atomic(path, out);
}

} // namespace

TEST_CASE("two losses with a weight: the total, its parts and one SGD step by hand, on both runners") {
  // w_u = [1, 2], w_v = [3, -1], x = [1, 1]: u = 3, v = 2; targets u 1, v 0: mse_u = 4,
  // mse_v = 4, the loss 4 + 0.5 * 4 = 6. Gradients: dL/dw_u = 2 (3 - 1) x = [4, 4],
  // dL/dw_v = 0.5 * 2 (2 - 0) x = [2, 2]; at lr 0.1 the weights become [0.6, 1.6] and
  // [2.8, -1.2].
  auto m = frontend::load_model_text(two_heads(R"("loss": {"u": "mse", "v": "mse"}, "loss_weights": {"v": 0.5},
      "optimizer": {"type": "sgd", "lr": 0.1})"), "m.json");
  REQUIRE(m.training.losses.size() == 2);
  CHECK(m.training.losses[1].weight == 0.5);
  for (auto* make : {&pipeline::make_ref_runner, &pipeline::make_jit_runner}) {
    std::unique_ptr<pipeline::Runner> r = make(m, 1);
    CAPTURE(r->backend());
    CHECK(r->output_names() == std::vector<std::string>{"u", "v"});
    CHECK(r->target_types().size() == 2);
    CHECK(r->loss_part_names() == std::vector<std::string>{"u_loss", "v_loss"});
    r->init(1);
    ir::Bindings v = r->values();
    v["u.kernel"] = ir::Tensor(v.at("u.kernel").type, {1, 2});
    v["v.kernel"] = ir::Tensor(v.at("v.kernel").type, {3, -1});
    r->set_values(v);
    float x[2] = {1, 1}, t[2] = {1, 0}, out[2];
    CHECK(r->train_step(x, t, 1, 0.1, 0, out) == doctest::Approx(6).epsilon(1e-6));
    CHECK(out[0] == doctest::Approx(3));
    CHECK(out[1] == doctest::Approx(2));
    REQUIRE(r->last_loss_parts().size() == 2);
    CHECK(r->last_loss_parts()[0] == doctest::Approx(4).epsilon(1e-6));
    CHECK(r->last_loss_parts()[1] == doctest::Approx(4).epsilon(1e-6));
    ir::Bindings after = r->values();
    CHECK(after.at("u.kernel")[0] == doctest::Approx(0.6));
    CHECK(after.at("u.kernel")[1] == doctest::Approx(1.6));
    CHECK(after.at("v.kernel")[0] == doctest::Approx(2.8));
    CHECK(after.at("v.kernel")[1] == doctest::Approx(-1.2));
  }
}

TEST_CASE("a loss on the second output only trains what reaches it, and the runner reports that output") {
  auto m = frontend::load_model_text(two_heads(R"("loss": {"type": "mse", "output": "v"},
      "optimizer": {"type": "sgd", "lr": 0.1})"), "m.json");
  for (auto* make : {&pipeline::make_ref_runner, &pipeline::make_jit_runner}) {
    std::unique_ptr<pipeline::Runner> r = make(m, 1);
    CAPTURE(r->backend());
    CHECK(r->output_names() == std::vector<std::string>{"v"});
    r->init(1);
    ir::Bindings before = r->values();
    float x[2] = {1, 1}, t[1] = {0}, out[1];
    r->train_step(x, t, 1, 0.1, 0, out);
    ir::Bindings after = r->values();
    CHECK(after.at("u.kernel").data == before.at("u.kernel").data);
    CHECK(after.at("v.kernel").data != before.at("v.kernel").data);
    CHECK(out[0] == doctest::Approx(before.at("v.kernel")[0] + before.at("v.kernel")[1]).epsilon(1e-6));
  }
}

TEST_CASE("the loss dict keeps the model's output order; metrics apply to every trained output") {
  auto m = frontend::load_model_text(two_heads(R"("loss": {"v": "mse", "u": "mean_squared_error"},
      "metrics": ["mae"])"), "m.json");
  REQUIRE(m.training.losses.size() == 2);
  CHECK(m.training.losses[0].output == "u");
  CHECK(m.training.losses[1].output == "v");
  CHECK(ir::metric_names(m.training) == std::vector<std::string>{"u_mae", "v_mae"});
  // reduce_on_plateau may watch one output's metric; mae goes down ("auto" mode: min).
  auto p = frontend::load_model_text(two_heads(R"("loss": {"u": "mse", "v": "mse"}, "metrics": ["mae"],
      "optimizer": {"type": "sgd", "reduce_on_plateau": {"monitor": "val_v_mae"}})"), "m.json");
  CHECK(p.training.optimizer.plateau.monitor == "val_v_mae");
  CHECK_FALSE(p.training.optimizer.plateau.maximize);
}

TEST_CASE("bad loss dicts and loss_weights are one error each, with their location") {
  CHECK(load_error(R"("loss": {"w": "mse"})").find("m.json:") == 0);
  CHECK(load_error(R"("loss": {"w": "mse"})").find("unknown output 'w'") != std::string::npos);
  CHECK(load_error(R"("loss": {})").find("an empty loss") != std::string::npos);
  CHECK(load_error(R"("loss": {"u": "hinge"})").find("unknown loss 'hinge'") != std::string::npos);
  CHECK(load_error(R"("loss": {"u": "mse"}, "loss_weights": {"v": 2})").find("output 'v' has no loss to weight") !=
        std::string::npos);
  CHECK(load_error(R"("loss": {"u": "mse"}, "loss_weights": {"u": -1})").find("a loss weight must be a finite number >= 0") !=
        std::string::npos);
  CHECK(load_error(R"("loss_weights": {"u": 1})").find("loss_weights without a loss") != std::string::npos);
  CHECK(load_error(R"("loss": {"u": "mse", "v": "categorical_crossentropy"})").find("does not fit output 'v'") !=
        std::string::npos);
}

TEST_CASE("data named per input and per trained output: packed rows, blocks per batch, test arrays") {
  auto m = frontend::load_model_text(R"({"name": "two_in", "inputs": [{"name": "a", "shape": [2]}, {"name": "b", "shape": [1]}],
    "layers": [{"type": "concat", "name": "ab", "inputs": ["a", "b"]},
               {"type": "dense", "name": "cls", "inputs": "ab", "units": 3, "activation": "softmax"},
               {"type": "dense", "name": "reg", "inputs": "ab", "units": 1}],
    "outputs": ["cls", "reg"], "loss": {"cls": "categorical_crossentropy", "reg": "mse"}})", "m.json");
  TempDir dir;
  write_npy(dir.file("a.npy"), {3, 2}, {0, 1, 2, 3, 4, 5});
  write_npy(dir.file("b.npy"), {3, 1}, {10, 11, 12});
  write_labels(dir.file("cls.npy"), {2, 0, 1});
  write_npy(dir.file("reg.npy"), {3, 1}, {0.5f, 1.5f, 2.5f});
  write_npy(dir.file("a_test.npy"), {1, 2}, {7, 8});
  write_npy(dir.file("b_test.npy"), {1, 1}, {9});
  write_labels(dir.file("cls_test.npy"), {1});
  write_npy(dir.file("reg_test.npy"), {1, 1}, {-1});
  // Any order of names; each sample's row is its inputs, then its targets, in model order.
  std::string source = "reg=" + dir.file("reg.npy") + ":" + dir.file("reg_test.npy") + ",b=" + dir.file("b.npy") + ":" +
                       dir.file("b_test.npy") + ",a=" + dir.file("a.npy") + ":" + dir.file("a_test.npy") +
                       ",cls=" + dir.file("cls.npy") + ":" + dir.file("cls_test.npy");
  frontend::DataSplits s = frontend::load_data(source, 0, &m);
  REQUIRE(s.train.n == 3);
  REQUIRE(s.test.n == 1);
  CHECK(s.train.x == std::vector<float>{0, 1, 10, 2, 3, 11, 4, 5, 12});
  CHECK(s.train.y == std::vector<float>{2, 0.5f, 0, 1.5f, 1, 2.5f});
  CHECK(s.test.x == std::vector<float>{7, 8, 9});

  auto r = pipeline::make_ref_runner(m, 2);
  std::vector<tools::TargetFormat> f = tools::target_formats(*r, m, s.train);
  REQUIRE(f.size() == 2);
  CHECK(f[0].kind == tools::TargetKind::one_hot);
  CHECK(f[1].kind == tools::TargetKind::values);
  std::vector<float> x, t;
  tools::fill_batch(s.train, f, {2, 0}, 0, 2, x, t);
  CHECK(x == std::vector<float>{4, 5, 0, 1, 12, 10});      // a of samples 2, 0; then b
  CHECK(t == std::vector<float>{0, 1, 0, 0, 0, 1, 2.5f, 0.5f}); // one-hot cls (1, 2); then reg
  // The metrics of each output, named after it.
  auto named = frontend::load_model_text(R"({"name": "two_in", "inputs": [{"name": "a", "shape": [2]}, {"name": "b", "shape": [1]}],
    "layers": [{"type": "concat", "name": "ab", "inputs": ["a", "b"]},
               {"type": "dense", "name": "cls", "inputs": "ab", "units": 3, "activation": "softmax"},
               {"type": "dense", "name": "reg", "inputs": "ab", "units": 1}],
    "outputs": ["cls", "reg"], "loss": {"cls": "categorical_crossentropy", "reg": "mse"}, "metrics": ["mae"]})", "m.json");
  auto rn = pipeline::make_ref_runner(named, 2);
  rn->init(0);
  pipeline::MetricSet ms = tools::make_metrics(*rn, tools::target_formats(*rn, named, s.train), named.training.metrics);
  CHECK(ms.names() == std::vector<std::string>{"cls_mae", "reg_mae"});
  // Outputs: cls rows (1, 0, 0) and (0, 0, 1); reg 2 and 1. Targets as above: cls mae
  // |(1,0,0)-(0,1,0)| -> 2/3 and |(0,0,1)-(0,0,1)| -> 0, mean 1/3; reg (|2 - 2.5| + |1 - 0.5|) / 2.
  std::vector<float> out = {1, 0, 0, 0, 0, 1, 2, 1};
  ms.add(out.data(), t.data(), 2);
  CHECK(ms.values()[0] == doctest::Approx(1.0 / 3));
  CHECK(ms.values()[1] == doctest::Approx(0.5));
  tools::EvalResult e = tools::evaluate_dataset(*rn, s.test, tools::target_formats(*rn, named, s.test),
                                                named.training.metrics, true);
  CHECK(e.metrics.size() == 2);
  CHECK(e.confusion.empty()); // a confusion matrix needs a single loss
}

TEST_CASE("named data: every missing, unknown or mismatched array is one clear error") {
  auto m = frontend::load_model_text(R"({"name": "two_in", "inputs": [{"name": "a", "shape": [2]}, {"name": "b", "shape": [1]}],
    "layers": [{"type": "concat", "name": "ab", "inputs": ["a", "b"]},
               {"type": "dense", "name": "reg", "inputs": "ab", "units": 1}],
    "outputs": "reg", "loss": "mse"})", "m.json");
  TempDir dir;
  write_npy(dir.file("a.npy"), {3, 2}, {0, 1, 2, 3, 4, 5});
  write_npy(dir.file("b.npy"), {3, 1}, {10, 11, 12});
  write_npy(dir.file("b2.npy"), {2, 1}, {10, 11});
  write_npy(dir.file("reg.npy"), {3, 1}, {0.5f, 1.5f, 2.5f});
  auto load = [&](const std::string& source) { return error_of([&] { frontend::load_data(source, 0, &m); }); };
  std::string a = "a=" + dir.file("a.npy"), b = ",b=" + dir.file("b.npy"), reg = ",reg=" + dir.file("reg.npy");
  CHECK(load(a + reg).find("no array for 'b' (the model's input): add b=FILE.npy") != std::string::npos);
  CHECK(load(a + b).find("no array for 'reg' (the model's trained output)") != std::string::npos);
  CHECK(load(a + b + reg + ",c=" + dir.file("a.npy")).find("'c' is neither an input of model 'two_in' nor an output") !=
        std::string::npos);
  CHECK(load(a + b + reg + ",a=" + dir.file("a.npy")).find("'a' is named twice") != std::string::npos);
  CHECK(load(a + ",b=" + dir.file("b2.npy") + reg).find("2 samples, but") != std::string::npos);
  CHECK(load(a + ":" + dir.file("a.npy") + b + reg).find("give a test array (NAME=TRAIN.npy:TEST.npy) for every name") !=
        std::string::npos);
  CHECK(load(a + b + reg + ",x").find("expected NAME=FILE.npy items") != std::string::npos);
  CHECK(load(a + ",b=" + dir.file("missing.npy") + reg).find("missing.npy") != std::string::npos);
  CHECK(error_of([&] { frontend::load_data(a + b + reg, 0, &m, true); }).find("--target input") != std::string::npos);
  // A shape that does not fit the input it names.
  frontend::DataSplits swapped = frontend::load_data("a=" + dir.file("b.npy") + ",b=" + dir.file("a.npy") + reg, 0, &m);
  auto r = pipeline::make_ref_runner(m, 2);
  CHECK(error_of([&] { tools::target_formats(*r, m, swapped.train); }).find("the model's input 'a' is [2]") !=
        std::string::npos);
  // A two-input model given one unnamed array.
  frontend::DataSplits plain = frontend::load_data(dir.file("a.npy") + "," + dir.file("reg.npy"), 0, &m);
  CHECK(error_of([&] { tools::target_formats(*r, m, plain.train); }).find("has 2 inputs: name an array for each, --data a=FILE.npy") !=
        std::string::npos);
}

TEST_CASE("dlc predict's default backend: the JIT for many samples of a one-input, one-output model") {
  auto one = frontend::load_model_text(two_heads(R"("loss": {"type": "mse", "output": "v"})"), "m.json");
  CHECK(pipeline::predict_backend(one, 100) == "ref"); // two outputs: the interpreter prints both
  auto mlp = frontend::load_model_text(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 1}]})", "m.json");
  CHECK(pipeline::predict_backend(mlp, 100) == "jit");
  CHECK(pipeline::predict_backend(mlp, 16) == "ref");
  auto two_in = frontend::load_model_text(R"({"inputs": [{"name": "a", "shape": [2]}, {"name": "b", "shape": [1]}],
    "layers": [{"type": "concat", "name": "ab", "inputs": ["a", "b"]}, {"type": "dense", "name": "o", "inputs": "ab",
    "units": 1}], "outputs": "o"})", "m.json");
  CHECK(pipeline::predict_backend(two_in, 100) == "ref"); // dlc predict reads every input through the interpreter
}

TEST_CASE("several losses: a masked output, a wrong number of targets and a stateful ensemble are errors") {
  // A masked sequence output among several losses (one masked output per model for now).
  auto masked = frontend::load_model_text(R"({"name": "masked_two", "inputs": [{"name": "ids", "shape": [4]}],
    "layers": [{"type": "embedding", "name": "e", "inputs": "ids", "input_dim": 5, "output_dim": 3, "mask_zero": true},
               {"type": "gru", "name": "g", "inputs": "e", "units": 2, "return_sequences": true},
               {"type": "time_distributed", "name": "tags", "inputs": "g", "layer": {"type": "dense", "units": 2,
                "activation": "softmax"}},
               {"type": "gru", "name": "last", "inputs": "e", "units": 2},
               {"type": "dense", "name": "score", "inputs": "last", "units": 1}],
    "outputs": ["tags", "score"], "loss": {"tags": "sparse_categorical_crossentropy", "score": "mse"}})", "m.json");
  CHECK(error_of([&] { pipeline::make_ref_runner(masked, 2); })
            .find("output 'tags' carries a mask, which a model with several losses does not support") != std::string::npos);
  // The JIT takes one target per loss.
  auto m = frontend::load_model_text(two_heads(R"("loss": {"u": "mse", "v": "mse"})"), "m.json");
  codegen::JitModel jm(pipeline::jit_source(m, 1));
  jm.init(0);
  float x[2] = {0, 0}, t[1] = {0};
  CHECK(error_of([&] { jm.train_step({x}, {t}, 1, 0.1f, 0); }).find("the model has 2 losses, 1 targets were given") !=
        std::string::npos);
  // An ensemble of a model with stateful layers: each member would continue the other's states.
  auto stateful = frontend::load_model_text(R"({"name": "st", "input_shape": [3, 2],
    "layers": [{"type": "simple_rnn", "units": 2, "stateful": true}], "loss": "mse", "batch_size": 2})", "m.json");
  auto r = pipeline::make_ref_runner(stateful, 2);
  r->init(0);
  frontend::Dataset d;
  d.name = "d";
  d.n = 2;
  d.x_shape = {3, 2};
  d.x.assign(12, 0.5f);
  d.y_shape = {2};
  d.y.assign(4, 0.0f);
  std::vector<tools::TargetFormat> f = tools::target_formats(*r, stateful, d);
  CHECK(error_of([&] { tools::infer_dataset(*r, d, f); }).find("an ensemble of a model with stateful layers") !=
        std::string::npos);
}

TEST_CASE("review fixes: one weighted loss, one named class-label target, an ensemble's mask") {
  // loss_weights scales a single loss as Keras does: 0.5 * (3 - 1)^2 = 2 (u = [1, 2] . [1, 1]).
  auto m = frontend::load_model_text(two_heads(R"("loss": {"u": "mse"}, "loss_weights": {"u": 0.5},
      "optimizer": {"type": "sgd", "lr": 0.1})"), "m.json");
  for (auto* make : {&pipeline::make_ref_runner, &pipeline::make_jit_runner}) {
    std::unique_ptr<pipeline::Runner> r = make(m, 1);
    r->init(1);
    ir::Bindings v = r->values();
    v["u.kernel"] = ir::Tensor(v.at("u.kernel").type, {1, 2});
    r->set_values(v);
    float x[2] = {1, 1}, t[1] = {1};
    CHECK(r->train_step(x, t, 1, 0.1, 0, nullptr) == doctest::Approx(2).epsilon(1e-6));
  }
  // Named data with one target array: class labels stay labels (one-hot for the loss).
  auto two_in = frontend::load_model_text(R"({"name": "two_in", "inputs": [{"name": "a", "shape": [2]}, {"name": "b", "shape": [1]}],
    "layers": [{"type": "concat", "name": "ab", "inputs": ["a", "b"]},
               {"type": "dense", "name": "cls", "inputs": "ab", "units": 3, "activation": "softmax"}],
    "outputs": "cls", "loss": "categorical_crossentropy", "metrics": ["accuracy"]})", "m.json");
  TempDir dir;
  write_npy(dir.file("a.npy"), {3, 2}, {0, 1, 2, 3, 4, 5});
  write_npy(dir.file("b.npy"), {3, 1}, {10, 11, 12});
  write_labels(dir.file("cls.npy"), {2, 0, 1});
  frontend::DataSplits s =
      frontend::load_data("a=" + dir.file("a.npy") + ",b=" + dir.file("b.npy") + ",cls=" + dir.file("cls.npy"), 0, &two_in);
  CHECK(s.train.has_labels());
  auto r = pipeline::make_ref_runner(two_in, 3);
  r->init(0);
  std::vector<tools::TargetFormat> f = tools::target_formats(*r, two_in, s.train);
  CHECK(f.at(0).kind == tools::TargetKind::one_hot);
  CHECK(tools::true_class(s.train, 0) == 2);
  // A path whose first characters are no name is not named data.
  CHECK(error_of([&] { frontend::load_data("./x=1.npy,y.npy", 0, &two_in); }).find("named") == std::string::npos);

  // An ensemble's metrics skip padded steps as each member's do.
  auto masked = frontend::load_model_text(R"({"name": "tagger", "input_shape": [4],
    "layers": [{"type": "embedding", "input_dim": 5, "output_dim": 3, "mask_zero": true},
               {"type": "gru", "units": 2, "return_sequences": true},
               {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
    "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]})", "m.json");
  auto mr = pipeline::make_ref_runner(masked, 2);
  mr->init(0);
  frontend::Dataset d;
  d.name = "d";
  d.n = 2;
  d.x_shape = {4};
  d.x = {1, 2, 0, 0, 3, 4, 1, 0}; // 2 and 3 real steps
  d.y_shape = {4};
  d.sequence_labels = true;
  d.y = {0, 1, 1, 1, 1, 0, 1, 1};
  std::vector<tools::TargetFormat> mf = tools::target_formats(*mr, masked, d);
  std::vector<float> masks;
  std::vector<float> out = tools::infer_dataset(*mr, d, mf, &masks);
  CHECK(masks == std::vector<float>{1, 1, 0, 0, 1, 1, 1, 0});
  tools::EvalResult e = tools::score_outputs(*mr, d, mf, out, masked.training.metrics, true, masks);
  int64_t total = 0;
  for (int64_t c : e.confusion) total += c;
  CHECK(total == 5);
  CHECK(e.metrics.at(0) == doctest::Approx(tools::evaluate_dataset(*mr, d, mf, masked.training.metrics).metrics.at(0)));
}
