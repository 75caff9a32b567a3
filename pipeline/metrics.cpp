#include "pipeline/metrics.h"

#include "ir/error.h"

#include <algorithm>
#include <cmath>

namespace dlc::pipeline {

namespace {

// The running sums of each metric (Metrics::sums_):
//   accuracy, top_k_categorical_accuracy: hits, positions
//   mse, mae: sum of squared (absolute) differences, values
//   precision: true positives, false positives; recall: true positives, false negatives
//   auc: true positives at each threshold, false positives at each threshold, positives, negatives
double ratio(double a, double b) { return b > 0 ? a / b : 0; }

int64_t argmax(const float* v, int64_t n) { return int64_t(std::max_element(v, v + n) - v); }

} // namespace

std::vector<double> auc_thresholds() {
  std::vector<double> t = {-1e-7};
  for (int i = 1; i < kAucThresholds - 1; i++) t.push_back(double(i) / double(kAucThresholds - 1));
  t.push_back(1 + 1e-7);
  return t;
}

Metrics::Metrics(std::vector<ir::MetricSpec> specs, MetricTask task) : specs_(std::move(specs)), task_(task) {
  const std::pair<const char*, Kind> kinds[] = {{"accuracy", Kind::accuracy}, {"top_k_categorical_accuracy", Kind::top_k},
                                                {"mse", Kind::mse},           {"mae", Kind::mae},
                                                {"precision", Kind::precision}, {"recall", Kind::recall},
                                                {"auc", Kind::auc}};
  for (auto& m : specs_) {
    auto it = std::find_if(std::begin(kinds), std::end(kinds), [&](auto& k) { return m.name == k.first; });
    if (it == std::end(kinds)) throw Error(fmt::format("unknown metric '{}'", m.name));
    kinds_.push_back(it->second);
  }
  reset();
}

void Metrics::reset() {
  sums_.clear();
  for (Kind k : kinds_) sums_.emplace_back(k == Kind::auc ? 2 * kAucThresholds + 2 : 2, 0.0);
}

void Metrics::add(const float* outputs, const float* targets, int64_t n, const float* mask) {
  const int64_t C = task_.classes(), size = task_.output_size;
  const int64_t tsize = task_.labels ? task_.positions : size;
  // Whether value j (of `count` per sample, step by step) of sample k lies on a padded step.
  auto padded = [&](int64_t k, int64_t j, int64_t count) {
    if (!mask || count < task_.steps || count % task_.steps != 0) return false;
    return mask[k * task_.steps + j / (count / task_.steps)] == 0.0f;
  };
  static const std::vector<double> thresholds = auc_thresholds();
  // The class of sample k at position p, and the target of output value j as the loss sees
  // it (one-hot rows for class ids).
  auto true_class = [&](int64_t k, int64_t p) -> int64_t {
    const float* t = targets + k * tsize;
    if (task_.labels) return int64_t(t[p]);
    if (C == 1) return t[p] > 0.5f ? 1 : 0;
    return argmax(t + p * C, C);
  };
  auto target = [&](int64_t k, int64_t j) -> double {
    const float* t = targets + k * tsize;
    if (!task_.labels) return t[j];
    if (C == 1) return t[j];
    return int64_t(t[j / C]) == j % C ? 1.0 : 0.0;
  };
  for (size_t m = 0; m < specs_.size(); m++) {
    const Kind kind = kinds_[m];
    std::vector<double>& s = sums_[m];
    for (int64_t k = 0; k < n; k++) {
      const float* out = outputs + k * size;
      if (kind == Kind::accuracy || kind == Kind::top_k) {
        for (int64_t p = 0; p < task_.positions; p++) {
          if (padded(k, p, task_.positions)) continue;
          const float* row = out + p * C;
          int64_t truth = true_class(k, p);
          bool hit;
          if (kind == Kind::accuracy) {
            hit = (C == 1 ? (row[0] > 0.5f ? 1 : 0) : argmax(row, C)) == truth;
          } else {
            // In the top k: fewer than k classes score higher than the true one (ties count
            // in its favour, as tf.math.in_top_k has them).
            int64_t above = 0;
            for (int64_t c = 0; c < C; c++) above += row[c] > row[truth];
            hit = above < specs_[m].k;
          }
          s[0] += hit;
          s[1] += 1;
        }
        continue;
      }
      for (int64_t j = 0; j < size; j++) {
        if (padded(k, j, size)) continue;
        double y = target(k, j), p = out[j];
        bool positive = y > 0.5;
        switch (kind) {
        case Kind::mse: s[0] += (p - y) * (p - y), s[1] += 1; break;
        case Kind::mae: s[0] += std::fabs(p - y), s[1] += 1; break;
        case Kind::precision: // tp, fp
          if (p > 0.5) s[positive ? 0 : 1] += 1;
          break;
        case Kind::recall: // tp, fn
          if (positive) s[p > 0.5 ? 0 : 1] += 1;
          break;
        case Kind::auc:
          for (int i = 0; i < kAucThresholds; i++)
            if (p > thresholds[size_t(i)]) s[size_t(positive ? i : kAucThresholds + i)] += 1;
          s[size_t(2 * kAucThresholds + (positive ? 0 : 1))] += 1;
          break;
        default: break;
        }
      }
    }
  }
}

std::vector<std::string> Metrics::names() const {
  std::vector<std::string> n;
  for (auto& m : specs_) n.push_back(m.name);
  return n;
}

std::vector<double> Metrics::values() const {
  std::vector<double> v;
  for (size_t m = 0; m < specs_.size(); m++) {
    const std::vector<double>& s = sums_[m];
    if (kinds_[m] != Kind::auc) {
      // precision tp / (tp + fp), recall tp / (tp + fn); the others sum / count.
      bool pr = kinds_[m] == Kind::precision || kinds_[m] == Kind::recall;
      v.push_back(ratio(s[0], pr ? s[0] + s[1] : s[1]));
      continue;
    }
    // ROC AUC as Keras's AUC() computes it: true- and false-positive rates at each
    // threshold, areas of the trapezoids between neighbouring thresholds.
    double pos = s[2 * kAucThresholds], neg = s[2 * kAucThresholds + 1], area = 0;
    for (int i = 0; i + 1 < kAucThresholds; i++) {
      double tpr0 = ratio(s[size_t(i)], pos), tpr1 = ratio(s[size_t(i + 1)], pos);
      double fpr0 = ratio(s[size_t(kAucThresholds + i)], neg), fpr1 = ratio(s[size_t(kAucThresholds + i + 1)], neg);
      area += (fpr0 - fpr1) * (tpr0 + tpr1) / 2;
    }
    v.push_back(area);
  }
  return v;
}

std::string metrics_line(const std::vector<std::string>& names, const std::vector<double>& values,
                         const std::string& prefix) {
  std::string out;
  for (size_t m = 0; m < names.size() && m < values.size(); m++)
    out += fmt::format("{}{}{} {:.4f}", out.empty() ? "" : " ", prefix, names[m], values[m]);
  return out;
}

std::string Metrics::line(const std::string& prefix) const { return metrics_line(names(), values(), prefix); }

std::vector<double> Metrics::state() const {
  std::vector<double> s;
  for (auto& v : sums_) s.insert(s.end(), v.begin(), v.end());
  return s;
}

void Metrics::set_state(const std::vector<double>& s) {
  size_t want = 0;
  for (auto& v : sums_) want += v.size();
  if (s.size() != want)
    throw Error(fmt::format("the metrics' state has {} values, these metrics keep {}", s.size(), want));
  for (double x : s)
    if (!(x >= 0) || !std::isfinite(x)) throw Error(fmt::format("the metrics' state holds {}, expected sums >= 0", x));
  size_t at = 0;
  for (auto& v : sums_)
    for (double& x : v) x = s[at++];
}

MetricSet::MetricSet(const std::vector<ir::MetricSpec>& specs, const std::vector<MetricTask>& tasks,
                     const std::vector<std::string>& outputs)
    : tasks_(tasks) {
  for (size_t k = 0; k < tasks.size(); k++) {
    per_output_.emplace_back(specs, tasks[k]);
    prefixes_.push_back(tasks.size() > 1 ? outputs.at(k) + "_" : "");
  }
}

void MetricSet::add(const float* outputs, const float* targets, int64_t n, const float* mask) {
  for (size_t k = 0; k < per_output_.size(); k++) {
    per_output_[k].add(outputs, targets, n, mask);
    outputs += n * tasks_[k].output_size;
    targets += n * (tasks_[k].labels ? tasks_[k].positions : tasks_[k].output_size);
  }
}

void MetricSet::reset() {
  for (Metrics& m : per_output_) m.reset();
}

bool MetricSet::empty() const { return per_output_.empty() || per_output_[0].empty(); }

std::vector<std::string> MetricSet::names() const {
  std::vector<std::string> n;
  for (size_t k = 0; k < per_output_.size(); k++)
    for (const std::string& name : per_output_[k].names()) n.push_back(prefixes_[k] + name);
  return n;
}

std::vector<double> MetricSet::values() const {
  std::vector<double> v;
  for (const Metrics& m : per_output_) {
    std::vector<double> one = m.values();
    v.insert(v.end(), one.begin(), one.end());
  }
  return v;
}

std::string MetricSet::line(const std::string& prefix) const { return metrics_line(names(), values(), prefix); }

std::vector<double> MetricSet::state() const {
  std::vector<double> s;
  for (const Metrics& m : per_output_) {
    std::vector<double> one = m.state();
    s.insert(s.end(), one.begin(), one.end());
  }
  return s;
}

void MetricSet::set_state(const std::vector<double>& s) {
  size_t want = state().size();
  if (s.size() != want)
    throw Error(fmt::format("the metrics' state has {} values, these metrics keep {}", s.size(), want));
  size_t at = 0;
  for (Metrics& m : per_output_) {
    size_t size = m.state().size();
    m.set_state(std::vector<double>(s.begin() + long(at), s.begin() + long(at + size)));
    at += size;
  }
}

} // namespace dlc::pipeline
