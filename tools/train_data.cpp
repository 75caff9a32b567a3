#include "tools/train_data.h"

#include "ir/error.h"
#include "runtime/rng.h"

#include <algorithm>
#include <numeric>

namespace dlc::tools {

namespace {

int64_t per_sample(const ir::TensorType& t) { return t.shape.numel() / t.shape[0]; }

} // namespace

TargetFormat target_format(const pipeline::Runner& r, const frontend::Model& m, const frontend::Dataset& d) {
  if (m.inputs.size() != 1)
    throw Error(fmt::format("model '{}' has {} inputs; training from a data set needs exactly one", m.name,
                            m.inputs.size()));
  const std::string& loss = m.training.loss.type;
  int64_t vocabulary = frontend::token_vocabulary(frontend::build_model(m, 1).graph, m.inputs[0].name);
  frontend::check_fits_model(d, m.inputs[0], r.output_type(), loss, vocabulary);
  TargetFormat f;
  f.output_size = per_sample(r.output_type());
  if (r.output_type().shape.rank() >= 3) f.steps = r.output_type().shape[1];
  f.classification = (loss != "mse" && !loss.empty()) || d.has_labels();
  if (d.sequence_labels) f.positions = d.y_size();
  if (!r.can_train()) {
    f.target_size = d.y_size(); // 1 for a class label, T for sequence labels
    f.kind = d.has_labels() ? TargetKind::class_ids : TargetKind::values;
    return f;
  }
  ir::TensorType tt = r.target_type();
  f.target_size = per_sample(tt);
  if (!d.has_labels()) {
    f.kind = TargetKind::values;
  } else if (ir::is_integer(tt.dtype) || f.target_size == f.positions) {
    f.kind = TargetKind::class_ids;
  } else {
    f.kind = TargetKind::one_hot;
  }
  return f;
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

void fill_batch(const frontend::Dataset& d, const TargetFormat& f, const std::vector<int64_t>& order,
                int64_t begin, int64_t n, std::vector<float>& x, std::vector<float>& t) {
  int64_t xs = d.x_size(), ys = d.y_size();
  x.resize(size_t(n * xs));
  t.assign(size_t(n * f.target_size), 0.0f);
  for (int64_t k = 0; k < n; k++) {
    int64_t i = order[size_t(begin + k)];
    std::copy_n(d.x.begin() + i * xs, xs, x.begin() + k * xs);
    if (f.kind == TargetKind::one_hot)
      for (int64_t p = 0; p < f.positions; p++)
        t[size_t(k * f.target_size + p * f.classes() + int64_t(d.y[size_t(i * ys + p)]))] = 1.0f;
    else
      std::copy_n(d.y.begin() + i * ys, ys, t.begin() + k * f.target_size);
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

} // namespace

EvalResult evaluate_dataset(pipeline::Runner& r, const frontend::Dataset& d, const TargetFormat& f,
                            const std::vector<ir::MetricSpec>& metrics, bool confusion) {
  EvalResult res;
  pipeline::Metrics acc(metrics, f.metric_task());
  res.metrics = acc.values();
  res.metrics_line = acc.line();
  if (d.n == 0) return res;
  confusion = confusion && f.classification;
  res.classes = confusion ? std::max<int64_t>(f.classes(), 2) : 0;
  if (confusion) res.confusion.assign(size_t(res.classes * res.classes), 0);
  std::vector<int64_t> order(static_cast<size_t>(d.n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> x, t, out(size_t(r.batch() * f.output_size));
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
    if (confusion)
      for (int64_t k = 0; k < n; k++)
        for (int64_t p = 0; p < f.positions; p++)
          if (!mask || mask[k * f.steps + p * f.steps / f.positions] != 0.0f)
            res.confusion[size_t(true_class(d, begin + k, p) * res.classes + predicted_at(f, out, k, p))]++;
  }
  res.loss = loss_sum / double(std::max<int64_t>(samples, 1));
  res.metrics = acc.values();
  res.metrics_line = acc.line();
  return res;
}

} // namespace dlc::tools
