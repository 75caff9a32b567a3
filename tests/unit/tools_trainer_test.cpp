// The training tool's pieces: the shuffle is a seeded permutation per epoch, batches carry
// targets in the form the loss wants, and checkpoints restore every value and counter
// exactly (doubles bit for bit) and refuse another model's.
#include "pipeline/runner.h"
#include "ir/error.h"
#include "tools/checkpoint.h"
#include "tools/train_data.h"

#include <algorithm>
#include <cstring>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <unistd.h>

using namespace dlc;

static std::string model_text(const std::string& loss) {
  return R"({"name": "t", "input_shape": [2], "layers": [{"type": "dense", "units": 3, "activation": "softmax"}],
             "loss": ")" + loss + R"(", "optimizer": {"type": "adam", "lr": 0.1}, "batch_size": 4})";
}

TEST_CASE("epoch_order is a permutation drawn from (seed, epoch)") {
  auto a = tools::epoch_order(50, 7, 0);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; i++) CHECK(sorted[size_t(i)] == i);
  CHECK(a == tools::epoch_order(50, 7, 0));
  CHECK(a != tools::epoch_order(50, 7, 1));
  CHECK(a != tools::epoch_order(50, 8, 0));
  CHECK(tools::epoch_order(1, 7, 0) == std::vector<int64_t>{0});
}

TEST_CASE("batches hold one-hot rows or class ids as the loss wants") {
  frontend::Dataset d;
  d.name = "d";
  d.n = 3;
  d.x_shape = {2};
  d.x = {0, 1, 2, 3, 4, 5};
  d.y = {2, 0, 1};
  std::vector<int64_t> order = {2, 0, 1};
  std::vector<float> x, t;

  frontend::Model cat = frontend::load_model_text(model_text("categorical_crossentropy"), "m.json");
  auto rc = pipeline::make_ref_runner(cat, 4);
  tools::TargetFormat fc = tools::target_formats(*rc, cat, d).at(0);
  CHECK(fc.kind == tools::TargetKind::one_hot);
  tools::fill_batch(d, {fc}, order, 1, 2, x, t);
  CHECK(x == std::vector<float>{0, 1, 2, 3});       // samples 0 and 1
  CHECK(t == std::vector<float>{0, 0, 1, 1, 0, 0}); // labels 2 and 0

  frontend::Model sparse = frontend::load_model_text(model_text("sparse_categorical_crossentropy"), "m.json");
  auto rs = pipeline::make_ref_runner(sparse, 4);
  tools::TargetFormat fs = tools::target_formats(*rs, sparse, d).at(0);
  CHECK(fs.kind == tools::TargetKind::class_ids);
  tools::fill_batch(d, {fs}, order, 0, 3, x, t);
  CHECK(t == std::vector<float>{1, 2, 0});

  d.y[1] = 3; // outside the 3 classes
  CHECK_THROWS_WITH_AS(tools::target_formats(*rc, cat, d), doctest::Contains("label 3 of sample 1"), Error);
}

TEST_CASE("a checkpoint restores values and counters exactly and refuses another model") {
  frontend::Model m = frontend::load_model_text(model_text("categorical_crossentropy"), "m.json");
  auto r = pipeline::make_ref_runner(m, 4);
  r->init(3);
  std::string dir = (std::filesystem::temp_directory_path() / ("dlc-ckpt-test-" + std::to_string(getpid()))).string();
  tools::prepare_checkpoint_dir(dir);
  tools::TrainState st;
  // A consistent state: 20 samples in batches of 4 are 5 batches an epoch; 2 epochs and
  // 3 batches are 13 steps and 12 samples seen.
  st.step = 13;
  st.epoch = 2;
  st.batch_in_epoch = 3;
  st.loss_sum = 0.1 + 0.2; // not exactly representable in decimal
  st.metric_state = {9, 12, 0.1 + 0.7, 36}; // accuracy and mse's running sums
  st.seen = 12;
  st.plateau = {0.1 * 0.1, 1.0 / 3, true, 1, 2};
  st.history = {{1, 1.0 / 3, {0.5, 0.1}, 2.0 / 7, {0.75, 0.2}, 0.01, 1.5, {0.125}},
                {2, 0.25, {0.625, 0.3}, -1, {}, 0.001, 1.25, {1.0 / 7}}};
  st.loss_parts_sum = {0.3};
  st.best_epoch = 1;
  st.best_val_loss = 2.0 / 7;
  st.wait = 1;
  st.best["dense_1.bias"] = r->values().at("dense_1.bias");
  std::string fp = tools::model_fingerprint(m);
  tools::CheckpointInfo info{fp, "t", 12345678901234567ull, 4, 20, 6, {"accuracy", "mse"}, {"regularization_loss"}};
  tools::save_checkpoint(dir, info, r->values(), st);

  tools::CheckpointInfo got;
  ir::Bindings values;
  tools::TrainState back;
  tools::load_checkpoint(dir, fp, r->values(), got, values, back);
  CHECK(got.seed == 12345678901234567ull);
  CHECK(got.batch == 4);
  CHECK(got.samples == 20);
  CHECK(got.epochs == 6);
  CHECK(back.step == 13);
  CHECK(back.epoch == 2);
  CHECK(back.batch_in_epoch == 3);
  CHECK(std::memcmp(&back.loss_sum, &st.loss_sum, sizeof(double)) == 0);
  CHECK(got.metrics == info.metrics);
  CHECK(got.loss_parts == info.loss_parts);
  CHECK(back.loss_parts_sum == st.loss_parts_sum);
  CHECK(back.history[0].loss_parts == st.history[0].loss_parts);
  CHECK(back.history[1].loss_parts == st.history[1].loss_parts);
  CHECK(back.metric_state == st.metric_state);
  CHECK(back.plateau.multiplier == st.plateau.multiplier); // reduce_on_plateau survives a resume
  CHECK(back.plateau.best == st.plateau.best);
  CHECK(back.plateau.seen);
  CHECK(back.plateau.wait == 1);
  CHECK(back.plateau.cooldown == 2);
  CHECK(back.seen == 12);
  REQUIRE(back.history.size() == 2);
  CHECK(back.history[0].loss == st.history[0].loss);
  CHECK(back.history[0].val_loss == st.history[0].val_loss);
  CHECK(back.history[0].metrics == st.history[0].metrics);
  CHECK(back.history[0].val_metrics == st.history[0].val_metrics);
  CHECK(back.history[0].lr == 0.01);
  CHECK(back.history[1].seconds == 1.25);
  CHECK(back.history[1].val_metrics.empty());
  CHECK(back.best_val_loss == st.best_val_loss);
  CHECK(back.wait == 1);
  CHECK(back.best.at("dense_1.bias").data == st.best.at("dense_1.bias").data);
  CHECK(values.size() == r->values().size()); // params and Adam's state
  for (auto& [name, t] : r->values()) CHECK(values.at(name).data == t.data);

  CHECK_THROWS_WITH_AS(tools::load_checkpoint(dir, "0000000000000000", r->values(), got, values, back),
                       doctest::Contains("the checkpoint is of another model"), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sequence labels: one-hot rows per position, accuracy and confusion over positions") {
  // A model with a [3, 4] output (a dense softmax at each of 3 positions), no loss.
  frontend::Model m = frontend::load_model_text(
      R"({"input_shape": [3], "layers": [{"type": "embedding", "input_dim": 5, "output_dim": 2},
          {"type": "dense", "units": 4, "activation": "softmax"}]})",
      "m.json");
  frontend::Dataset d;
  d.name = "d";
  d.n = 2;
  d.x_shape = {3};
  d.x = {0, 1, 2, 3, 4, 0};
  d.y_shape = {3};
  d.sequence_labels = true;
  d.y = {3, 0, 1, 2, 2, 0};
  auto r = pipeline::make_ref_runner(m, 2);
  r->init(0);
  tools::TargetFormat f = tools::target_formats(*r, m, d).at(0);
  CHECK(f.positions == 3);
  CHECK(f.classes() == 4);
  CHECK(f.kind == tools::TargetKind::class_ids);
  std::vector<float> x, t;
  tools::fill_batch(d, {f}, {1, 0}, 0, 2, x, t);
  CHECK(t == std::vector<float>{2, 2, 0, 3, 0, 1});
  // Batch rows [sample 1, sample 0] (labels (2, 2, 0) and (3, 0, 1)) predicting (2, 2, 1)
  // and (3, 1, 1): two right positions each.
  auto row = [](int c) {
    std::vector<float> v(4, 0.1f);
    v[size_t(c)] = 0.7f;
    return v;
  };
  std::vector<float> out;
  for (int c : {2, 2, 1, 3, 1, 1}) {
    auto v = row(c);
    out.insert(out.end(), v.begin(), v.end());
  }
  pipeline::Metrics acc({{"accuracy", 5, ""}}, f.metric_task());
  acc.add(out.data(), std::vector<float>{2, 2, 0, 3, 0, 1}.data(), 2);
  CHECK(acc.values()[0] == doctest::Approx(4.0 / 6));
  tools::TargetFormat oh = f;
  oh.kind = tools::TargetKind::one_hot;
  oh.target_size = 12;
  tools::fill_batch(d, {oh}, {0}, 0, 1, x, t);
  CHECK(t == std::vector<float>{0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0});
  f.classification = true; // as a classification loss would set it (this model has none)
  tools::EvalResult e = tools::evaluate_dataset(*r, d, {f}, {}, true);
  CHECK(e.classes == 4);
  int64_t total = 0;
  for (int64_t c : e.confusion) total += c;
  CHECK(total == 6); // every position of both samples
}

TEST_CASE("the history as JSON: Keras's History.history, one array per column, read back by nlohmann/json") {
  // Two epochs with a loss part, a metric per output and a validation split.
  std::vector<tools::EpochMetrics> h = {{1, 1.8137, {0.25, 0.5}, 0.9, {0.3, 0.6}, 0.01, 0.131, {1.59}},
                                        {2, 0.5051, {0.75, 1.0}, 0.4, {0.7, 0.9}, 0.01, 0.134, {0.48}}};
  std::string text = tools::history_text("h.json", h, {"tokens_accuracy", "first_accuracy"}, {"tokens_loss"});
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"epoch", "loss", "tokens_loss", "tokens_accuracy", "first_accuracy", "val_loss",
                                         "val_tokens_accuracy", "val_first_accuracy", "lr", "time"});
  CHECK(j["epoch"] == nlohmann::json::array({1, 2}));
  CHECK(j["epoch"][0].is_number_integer());
  CHECK(j["loss"][0].get<double>() == 1.8137);
  CHECK(j["tokens_loss"][1].get<double>() == 0.48);
  CHECK(j["val_first_accuracy"][1].get<double>() == 0.9);
  CHECK(j["time"][0].get<double>() == 0.131);
  // The CSV form has the same columns.
  std::string csv = tools::history_text("h.csv", h, {"tokens_accuracy", "first_accuracy"}, {"tokens_loss"});
  CHECK(csv.substr(0, csv.find('\n')) ==
        "epoch,loss,tokens_loss,tokens_accuracy,first_accuracy,val_loss,val_tokens_accuracy,val_first_accuracy,lr,time");
}
