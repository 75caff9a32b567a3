#include "tools/train_data.h"

#include "ir/error.h"
#include "runtime/rng.h"

#include <algorithm>
#include <numeric>

namespace dlc::tools {

using pipeline::per_sample;

std::vector<TargetFormat> target_formats(const pipeline::Runner& r, const frontend::Model& m,
                                         const frontend::Dataset& d) {
  std::vector<ir::TensorType> outputs = r.output_types();
  std::vector<frontend::Dataset::Part> parts = d.targets();
  if (d.inputs().size() != m.inputs.size() && d.x_parts.empty())
    throw Error(fmt::format("model '{}' has {} inputs: name an array for each, --data {}=FILE.npy,...", m.name,
                            m.inputs.size(), m.inputs[0].name));
  if (parts.size() != outputs.size() && d.y_parts.empty())
    throw Error(fmt::format("model '{}' trains {} outputs: name the targets of each, --data {}=FILE.npy,...", m.name,
                            outputs.size(), r.output_names()[0]));
  frontend::check_parts_fit_model(d, m, outputs);
  std::vector<ir::TensorType> targets;
  if (r.can_train()) targets = r.target_types();
  std::vector<TargetFormat> formats;
  for (size_t k = 0; k < outputs.size(); k++) {
    const std::string loss = k < m.training.losses.size() ? m.training.losses[k].type : "";
    const frontend::Dataset::Part& part = parts[k];
    TargetFormat f;
    f.output_size = per_sample(outputs[k]);
    if (outputs[k].shape.rank() >= 3) f.steps = outputs[k].shape[1];
    f.classification = (loss != "mse" && !loss.empty()) || part.labels();
    if (part.sequence_labels) f.positions = part.size();
    if (!r.can_train()) {
      f.target_size = part.size(); // 1 for a class label, T for sequence labels
      f.kind = part.labels() ? TargetKind::class_ids : TargetKind::values;
    } else {
      f.target_size = per_sample(targets[k]);
      if (!part.labels()) f.kind = TargetKind::values;
      else if (ir::is_integer(targets[k].dtype) || f.target_size == f.positions) f.kind = TargetKind::class_ids;
      else f.kind = TargetKind::one_hot;
    }
    formats.push_back(f);
  }
  return formats;
}

pipeline::MetricSet make_metrics(const pipeline::Runner& r, const std::vector<TargetFormat>& f,
                                 const std::vector<ir::MetricSpec>& metrics) {
  std::vector<pipeline::MetricTask> tasks;
  for (const TargetFormat& one : f) tasks.push_back(one.metric_task());
  return pipeline::MetricSet(metrics, tasks, r.output_names());
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  uint64_t stream = dlc_rt::name_hash("dlc.shuffle") ^ dlc_rt::mix64(uint64_t(epoch));
  for (int64_t i = n - 1; i > 0; i--) {
    // Multiply-shift maps 64 random bits onto [0, i] with negligible bias.
    uint64_t bits = dlc_rt::rng_bits(seed, stream, uint64_t(i));
    int64_t j = int64_t((unsigned __int128)bits * uint64_t(i + 1) >> 64);
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  return order;
}

void fill_batch(const frontend::Dataset& d, const std::vector<TargetFormat>& f, const std::vector<int64_t>& order,
                int64_t begin, int64_t n, std::vector<float>& x, std::vector<float>& t) {
  int64_t xs = d.x_size(), ys = d.y_size(), tsize = 0;
  for (const TargetFormat& one : f) tsize += one.target_size;
  x.resize(size_t(n * xs));
  t.assign(size_t(n * tsize), 0.0f);
  float* to = x.data();
  int64_t at = 0; // the part's offset in a row
  for (const frontend::Dataset::Part& p : d.inputs()) {
    int64_t size = p.size();
    for (int64_t k = 0; k < n; k++, to += size)
      std::copy_n(d.x.begin() + order[size_t(begin + k)] * xs + at, size, to);
    at += size;
  }
  std::vector<frontend::Dataset::Part> parts = d.targets();
  to = t.data();
  at = 0;
  for (size_t j = 0; j < parts.size() && j < f.size(); j++) {
    int64_t size = parts[j].size();
    for (int64_t k = 0; k < n; k++, to += f[j].target_size) {
      auto row = d.y.begin() + order[size_t(begin + k)] * ys + at;
      if (f[j].kind == TargetKind::one_hot)
        for (int64_t p = 0; p < f[j].positions; p++) to[p * f[j].classes() + int64_t(row[p])] = 1.0f;
      else
        std::copy_n(row, size, to);
    }
    at += size;
  }
}

int64_t predicted_class(const float* out, int64_t size) {
  if (size == 1) return out[0] > 0.5f ? 1 : 0; // one sigmoid unit
  return int64_t(std::max_element(out, out + size) - out);
}

int64_t true_class(const frontend::Dataset& d, int64_t i, int64_t p) {
  if (d.has_labels()) return int64_t(d.y[size_t(i * d.y_size() + p)]);
  return predicted_class(d.y.data() + i * d.y_size(), d.y_size());
}

namespace {

// The class the outputs of batch row k predict at position p.
int64_t predicted_at(const TargetFormat& f, const std::vector<float>& outputs, int64_t k, int64_t p) {
  return predicted_class(outputs.data() + k * f.output_size + p * f.classes(), f.classes());
}

// A confusion matrix when asked and there is one classification loss; whether it is kept.
bool start_confusion(EvalResult& res, const std::vector<TargetFormat>& f, bool asked) {
  bool on = asked && f.size() == 1 && f[0].classification;
  res.classes = on ? std::max<int64_t>(f[0].classes(), 2) : 0;
  if (on) res.confusion.assign(size_t(res.classes * res.classes), 0);
  return on;
}

// Counts batch rows [0, n) (samples begin..) of `out` at every real position (mask).
void count_confusion(EvalResult& res, const frontend::Dataset& d, const TargetFormat& f, const std::vector<float>& out,
                     int64_t begin, int64_t n, const float* mask) {
  for (int64_t k = 0; k < n; k++)
    for (int64_t p = 0; p < f.positions; p++)
      if (!mask || mask[k * f.steps + p * f.steps / f.positions] != 0.0f)
        res.confusion[size_t(true_class(d, begin + k, p) * res.classes + predicted_at(f, out, k, p))]++;
}

} // namespace

EvalResult evaluate_dataset(pipeline::Runner& r, const frontend::Dataset& d, const std::vector<TargetFormat>& f,
                            const std::vector<ir::MetricSpec>& metrics, bool confusion) {
  EvalResult res;
  pipeline::MetricSet acc = make_metrics(r, f, metrics);
  res.metrics = acc.values();
  res.metrics_line = acc.line();
  if (d.n == 0) return res;
  confusion = start_confusion(res, f, confusion);
  std::vector<int64_t> order(static_cast<size_t>(d.n));
  std::iota(order.begin(), order.end(), 0);
  int64_t out_size = 0;
  for (const TargetFormat& one : f) out_size += one.output_size;
  std::vector<float> x, t, out(size_t(r.batch() * out_size));
  double loss_sum = 0;
  // Stateful layers: from zero states, whole batches in order (docs/recurrent.md).
  int64_t samples = r.stateful() ? d.n / r.batch() * r.batch() : d.n;
  if (r.stateful()) r.reset_states();
  for (int64_t begin = 0; begin < samples; begin += r.batch()) {
    int64_t n = std::min(r.batch(), d.n - begin);
    fill_batch(d, f, order, begin, n, x, t);
    if (r.can_train())
      loss_sum += r.evaluate(x.data(), t.data(), n, out.data()) * double(n);
    else
      r.infer(x.data(), out.data(), n);
    const float* mask = r.can_train() ? r.last_mask() : nullptr;
    acc.add(out.data(), t.data(), n, mask);
    if (confusion) count_confusion(res, d, f[0], out, begin, n, mask);
  }
  res.loss = loss_sum / double(std::max<int64_t>(samples, 1));
  res.metrics = acc.values();
  res.metrics_line = acc.line();
  return res;
}

namespace {

int64_t output_size(const std::vector<TargetFormat>& f) {
  int64_t s = 0;
  for (const TargetFormat& one : f) s += one.output_size;
  return s;
}

void check_not_stateful(const pipeline::Runner& r) {
  if (r.stateful())
    throw Error("an ensemble of a model with stateful layers: each member's states would carry across the others' "
                "batches; evaluate the members one at a time");
}

} // namespace

void infer_first_output(pipeline::Runner& r, const float* x, int64_t n, float* out) {
  int64_t per_in = 0, per_out = pipeline::per_sample(r.output_types()[0]), per_all = 0;
  for (const ir::TensorType& t : r.input_types()) per_in += pipeline::per_sample(t);
  for (const ir::TensorType& t : r.output_types()) per_all += pipeline::per_sample(t);
  std::vector<float> all(per_all == per_out ? 0 : size_t(r.batch() * per_all));
  for (int64_t begin = 0; begin < n; begin += r.batch()) {
    int64_t cnt = std::min(r.batch(), n - begin);
    // One output: written straight into `out`; several: the first block is copied.
    r.infer(x + begin * per_in, all.empty() ? out + begin * per_out : all.data(), cnt);
    if (!all.empty()) std::copy_n(all.data(), cnt * per_out, out + begin * per_out);
  }
}

std::vector<float> infer_dataset(pipeline::Runner& r, const frontend::Dataset& d, const std::vector<TargetFormat>& f,
                                 std::vector<float>* masks, double* loss) {
  check_not_stateful(r);
  std::vector<int64_t> order(static_cast<size_t>(d.n));
  std::iota(order.begin(), order.end(), 0);
  int64_t size = output_size(f);
  std::vector<float> x, t, out(size_t(d.n * size));
  if (masks) masks->clear();
  double loss_sum = 0;
  for (int64_t begin = 0; begin < d.n; begin += r.batch()) {
    int64_t n = std::min(r.batch(), d.n - begin);
    fill_batch(d, f, order, begin, n, x, t);
    if (!r.can_train()) {
      r.infer(x.data(), out.data() + begin * size, n);
      continue;
    }
    loss_sum += r.evaluate(x.data(), t.data(), n, out.data() + begin * size) * double(n);
    if (const float* m = r.last_mask(); m && masks) masks->insert(masks->end(), m, m + n * f[0].steps);
  }
  if (loss) *loss = loss_sum / double(std::max<int64_t>(d.n, 1)); // as evaluate_dataset
  return out;
}

EvalResult score_outputs(const pipeline::Runner& r, const frontend::Dataset& d, const std::vector<TargetFormat>& f,
                         const std::vector<float>& outputs, const std::vector<ir::MetricSpec>& metrics, bool confusion,
                         const std::vector<float>& masks) {
  check_not_stateful(r);
  EvalResult res;
  pipeline::MetricSet acc = make_metrics(r, f, metrics);
  confusion = start_confusion(res, f, confusion);
  std::vector<int64_t> order(static_cast<size_t>(d.n));
  std::iota(order.begin(), order.end(), 0);
  int64_t size = output_size(f);
  std::vector<float> x, t;
  for (int64_t begin = 0; begin < d.n; begin += r.batch()) {
    int64_t n = std::min(r.batch(), d.n - begin);
    fill_batch(d, f, order, begin, n, x, t);
    std::vector<float> out(outputs.begin() + begin * size, outputs.begin() + (begin + n) * size);
    const float* mask = masks.empty() ? nullptr : masks.data() + begin * f[0].steps;
    acc.add(out.data(), t.data(), n, mask);
    if (confusion) count_confusion(res, d, f[0], out, begin, n, mask);
  }
  res.metrics = acc.values();
  res.metrics_line = acc.line();
  return res;
}

} // namespace dlc::tools
