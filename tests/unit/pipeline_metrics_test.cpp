// The metrics (pipeline/metrics.h) and reduce_on_plateau (pipeline/plateau.h) against
// values worked out by hand.
#include "ir/error.h"
#include "pipeline/metrics.h"
#include "pipeline/plateau.h"

#include <doctest/doctest.h>

using namespace dlc;
using pipeline::Metrics;
using pipeline::MetricTask;

namespace {

std::vector<ir::MetricSpec> specs(std::initializer_list<const char*> names, int64_t k = 5) {
  std::vector<ir::MetricSpec> v;
  for (const char* n : names) v.push_back({n, k, ""});
  return v;
}

// One sigmoid unit: scores and 0/1 labels.
//   score  0.9 0.8 0.3 0.6 0.2 0.7
//   label  1   1   1   0   0   0
// At 0.5: TP 2 (0.9, 0.8), FN 1 (0.3), FP 2 (0.6, 0.7), TN 1 (0.2).
const std::vector<float> kScores = {0.9f, 0.8f, 0.3f, 0.6f, 0.2f, 0.7f};
const std::vector<float> kLabels = {1, 1, 1, 0, 0, 0};

} // namespace

TEST_CASE("metrics: binary accuracy, precision, recall, mse, mae and auc by hand") {
  Metrics m(specs({"accuracy", "precision", "recall", "mse", "mae", "auc"}), MetricTask{1, 1, true});
  m.add(kScores.data(), kLabels.data(), 6);
  std::vector<double> v = m.values();
  CHECK(v[0] == doctest::Approx(3.0 / 6));  // TP + TN of 6
  CHECK(v[1] == doctest::Approx(2.0 / 4));  // TP / (TP + FP)
  CHECK(v[2] == doctest::Approx(2.0 / 3));  // TP / (TP + FN)
  // Differences 0.1 0.2 0.7 0.6 0.2 0.7: squares sum to 1.43, absolute values to 2.5.
  CHECK(v[3] == doctest::Approx(1.43 / 6).epsilon(1e-6));
  CHECK(v[4] == doctest::Approx(2.5 / 6).epsilon(1e-6));
  // ROC AUC: of the 9 (positive, negative) pairs, 0.9 and 0.8 outrank all three negatives,
  // 0.3 outranks 0.2 only: 7/9. No two scores share a bucket of the 200 thresholds, so
  // Keras's approximation is exact here.
  CHECK(v[5] == doctest::Approx(7.0 / 9).epsilon(1e-9));
  CHECK(m.names() == std::vector<std::string>{"accuracy", "precision", "recall", "mse", "mae", "auc"});
  CHECK(m.line().rfind("accuracy 0.5000 precision 0.5000 recall 0.6667", 0) == 0);
}

TEST_CASE("metrics: auc of tied scores is the trapezoid's half, and of a perfect ranking 1") {
  Metrics tie(specs({"auc"}), MetricTask{1, 1, true});
  std::vector<float> s = {0.5f, 0.5f}, y = {1, 0};
  tie.add(s.data(), y.data(), 2);
  CHECK(tie.values()[0] == doctest::Approx(0.5));
  Metrics perfect(specs({"auc"}), MetricTask{1, 1, false}); // dense 0/1 targets read alike
  std::vector<float> s2 = {0.1f, 0.95f, 0.4f}, y2 = {0, 1, 0};
  perfect.add(s2.data(), y2.data(), 3);
  CHECK(perfect.values()[0] == doctest::Approx(1.0));
  // Nothing counted yet: 0, not NaN.
  CHECK(Metrics(specs({"auc", "precision"}), MetricTask{}).values() == std::vector<double>{0, 0});
}

TEST_CASE("metrics: categorical accuracy, top-k and mse against one-hot rows, sparse or dense") {
  // Three classes. Row, label; argmax; classes scoring above the label's.
  //   0.7 0.2 0.1  label 0   argmax 0 (hit)   above 0 (top-2 hit)
  //   0.1 0.5 0.4  label 0   argmax 1         above 2 (top-2 miss)
  //   0.3 0.3 0.4  label 1   argmax 2         above 1 (the tie does not count: top-2 hit)
  //   0.2 0.6 0.2  label 1   argmax 1 (hit)   above 0 (top-2 hit)
  std::vector<float> out = {0.7f, 0.2f, 0.1f, 0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f, 0.2f, 0.6f, 0.2f};
  std::vector<float> labels = {0, 0, 1, 1};
  std::vector<float> one_hot = {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0};
  // Squared differences to the one-hot rows: 0.14 + 1.22 + 0.74 + 0.24 = 2.34 over 12 values.
  for (bool sparse : {true, false}) {
    CAPTURE(sparse);
    Metrics m(specs({"accuracy", "top_k_categorical_accuracy", "mse"}, 2), MetricTask{3, 1, sparse});
    m.add(out.data(), (sparse ? labels : one_hot).data(), 4);
    std::vector<double> v = m.values();
    CHECK(v[0] == doctest::Approx(0.5));
    CHECK(v[1] == doctest::Approx(0.75));
    CHECK(v[2] == doctest::Approx(2.34 / 12).epsilon(1e-6));
  }
  // The same rows as 2 samples of 2 positions (sequence labels): accuracy counts positions.
  Metrics seq(specs({"accuracy"}), MetricTask{6, 2, true});
  seq.add(out.data(), labels.data(), 2);
  CHECK(seq.values()[0] == doctest::Approx(0.5));
}

TEST_CASE("metrics: batches add up to the whole, and a saved state continues exactly") {
  Metrics whole(specs({"accuracy", "auc", "mse"}), MetricTask{1, 1, true});
  whole.add(kScores.data(), kLabels.data(), 6);
  Metrics first(specs({"accuracy", "auc", "mse"}), MetricTask{1, 1, true});
  first.add(kScores.data(), kLabels.data(), 4);
  Metrics resumed(specs({"accuracy", "auc", "mse"}), MetricTask{1, 1, true});
  resumed.set_state(first.state());
  resumed.add(kScores.data() + 4, kLabels.data() + 4, 2);
  CHECK(resumed.values() == whole.values());
  resumed.reset();
  CHECK(resumed.values() == std::vector<double>{0, 0, 0});
  CHECK_THROWS_WITH_AS(resumed.set_state({1, 2}), "the metrics' state has 2 values, these metrics keep 406", Error);
  std::vector<double> bad = first.state();
  bad[0] = -1;
  CHECK_THROWS_WITH_AS(resumed.set_state(bad), "the metrics' state holds -1, expected sums >= 0", Error);
}

TEST_CASE("metrics: Keras's 200 AUC thresholds") {
  std::vector<double> t = pipeline::auc_thresholds();
  REQUIRE(t.size() == 200);
  CHECK(t[0] == -1e-7);
  CHECK(t[1] == 1.0 / 199);
  CHECK(t[198] == 198.0 / 199);
  CHECK(t[199] == 1 + 1e-7);
}

TEST_CASE("reduce_on_plateau: a sequence of monitored values gives the learning rates worked out by hand") {
  ir::PlateauSpec p;
  p.enabled = true;
  p.factor = 0.5;
  p.patience = 2;
  p.min_delta = 0.01;
  p.cooldown = 1;
  p.min_lr = 0.02;
  const double lr = 0.1;
  // epoch: value -> what happens                                           rate after it
  //  1: 1.0   the first value is the best                                    0.1
  //  2: 0.995 not below 1.0 - 0.01: wait 1                                   0.1
  //  3: 0.98  better: best 0.98, wait 0                                      0.1
  //  4: 0.98  wait 1                                                         0.1
  //  5: 0.975 not below 0.97: wait 2 = patience: 0.1 x 0.5, cooldown 1       0.05
  //  6: 0.99  cooldown ends (wait 0), then wait 1                            0.05
  //  7: 0.99  wait 2: 0.05 x 0.5                                             0.025
  //  8: 0.99  cooldown ends, wait 1                                          0.025
  //  9: 0.99  wait 2: 0.025 x 0.5 = 0.0125, floored at min_lr                0.02
  // 10: 0.99  cooldown ends, wait 1                                          0.02
  // 11: 0.99  wait 2, but the rate is min_lr already: no change              0.02
  // 12: 0.5   better: wait 0                                                 0.02
  const double values[] = {1.0, 0.995, 0.98, 0.98, 0.975, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.5};
  const double want[] = {0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02};
  const bool reduced[] = {false, false, false, false, true, false, true, false, true, false, false, false};
  pipeline::PlateauState s;
  for (int e = 0; e < 12; e++) {
    CAPTURE(e + 1);
    CHECK(pipeline::plateau_epoch_end(p, lr, values[e], s) == reduced[e]);
    CHECK(lr * s.multiplier == doctest::Approx(want[e]).epsilon(1e-12));
  }
  CHECK(s.best == 0.5);
  CHECK(s.wait == 0);
}

TEST_CASE("reduce_on_plateau: a maximised metric, patience 0, and Keras's defaults") {
  ir::PlateauSpec p;
  p.enabled = true;
  p.maximize = true;
  p.patience = 0; // every epoch without improvement reduces
  pipeline::PlateauState s;
  CHECK_FALSE(pipeline::plateau_epoch_end(p, 1.0, 0.5, s)); // first
  CHECK_FALSE(pipeline::plateau_epoch_end(p, 1.0, 0.6, s)); // better by more than 1e-4
  CHECK(pipeline::plateau_epoch_end(p, 1.0, 0.60005, s));    // within min_delta: x 0.1
  CHECK(s.multiplier == doctest::Approx(0.1));
  CHECK(pipeline::plateau_epoch_end(p, 1.0, 0.55, s)); // worse: x 0.1 again
  CHECK(s.multiplier == doctest::Approx(0.01));
  // Defaults: patience 10 -> the 10th epoch without improvement reduces.
  ir::PlateauSpec d;
  d.enabled = true;
  pipeline::PlateauState t;
  pipeline::plateau_epoch_end(d, 0.01, 1.0, t);
  for (int e = 0; e < 9; e++) CHECK_FALSE(pipeline::plateau_epoch_end(d, 0.01, 1.0, t));
  CHECK(pipeline::plateau_epoch_end(d, 0.01, 1.0, t));
  CHECK(0.01 * t.multiplier == doctest::Approx(0.001));
}
