#include "tools/checkpoint.h"

#include "frontend/files.h"
#include "ir/error.h"
#include "runtime/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace dlc::tools {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBestPrefix = "best/";

std::string hex(double v) { return fmt::format("{:a}", v); }

// Metadata fields, read back with errors that name the checkpoint and the field. A
// checkpoint is input like any other file: every number is parsed strictly and checked
// against its range before the trainer sees it.
struct Meta {
  const std::string& path;
  const std::map<std::string, std::string>& m;
  [[noreturn]] void damaged(const std::string& why) const {
    throw Error(fmt::format("{}: damaged checkpoint: {}", path, why));
  }
  const std::string& str(const std::string& k) const {
    auto it = m.find(k);
    if (it == m.end()) throw Error(fmt::format("{}: not a dlc checkpoint (no '{}' in its metadata)", path, k));
    return it->second;
  }
  double num(const std::string& k) const { return parse(str(k), k); }
  uint64_t u64(const std::string& k) const {
    const std::string& s = str(k);
    bool digits = !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
    errno = 0;
    unsigned long long v = digits ? std::strtoull(s.c_str(), nullptr, 10) : 0;
    if (!digits || errno) damaged(fmt::format("'{}' is '{}', expected a non-negative integer", k, clip(s)));
    return v;
  }
  // A decimal integer in [lo, hi].
  int64_t integer(const std::string& k, int64_t lo, int64_t hi) const {
    const std::string& s = str(k);
    bool digits = !s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789", s[0] == '-' ? 1 : 0) == std::string::npos &&
                  s != "-";
    int64_t v = digits ? std::strtoll(s.c_str(), nullptr, 10) : 0;
    if (!digits || v < lo || v > hi)
      damaged(fmt::format("'{}' is '{}', expected an integer in [{}, {}]", k, clip(s), lo, hi));
    return v;
  }
  double parse(const std::string& s, const std::string& k) const {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || errno || std::isnan(v)) damaged(fmt::format("'{}' is '{}', expected a number", k, clip(s)));
    return v;
  }
  double finite(const std::string& k) const {
    double v = num(k);
    if (!std::isfinite(v)) damaged(fmt::format("'{}' is {}, expected a finite number", k, v));
    return v;
  }
};

std::string hex_list(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + hex(x);
  return s;
}

// Each epoch: loss, val_loss, lr, seconds, then the metrics, (with validation) the
// validation metrics and the parts of the loss; epochs separated by ';'.
std::string history_meta(const std::vector<EpochMetrics>& h) {
  std::string s;
  for (auto& e : h) {
    std::vector<double> v = {e.loss, e.val_loss, e.lr, e.seconds};
    v.insert(v.end(), e.metrics.begin(), e.metrics.end());
    v.insert(v.end(), e.val_metrics.begin(), e.val_metrics.end());
    v.insert(v.end(), e.loss_parts.begin(), e.loss_parts.end());
    s += (s.empty() ? "" : ";") + hex_list(v);
  }
  return s;
}

std::vector<double> parse_list(const Meta& meta, const std::string& text, const std::string& k) {
  std::vector<double> v;
  size_t p = 0;
  while (p < text.size()) {
    size_t comma = text.find(',', p);
    if (comma == std::string::npos) comma = text.size();
    v.push_back(meta.parse(text.substr(p, comma - p), k));
    if (std::isinf(v.back())) meta.damaged(fmt::format("an infinite value in '{}'", k));
    p = comma + 1;
  }
  return v;
}

std::vector<EpochMetrics> parse_history(const Meta& meta, size_t metrics, size_t parts) {
  std::vector<EpochMetrics> h;
  const std::string& s = meta.str("history");
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(';', pos);
    if (end == std::string::npos) end = s.size();
    std::vector<double> v = parse_list(meta, s.substr(pos, end - pos), "history");
    EpochMetrics e;
    e.epoch = int(h.size()) + 1;
    size_t all_metrics = v.size() >= 2 && v[1] >= 0 ? 2 * metrics : metrics, want = 4 + all_metrics + parts;
    if (v.size() != want) meta.damaged(fmt::format("bad history: epoch {} has {} values, expected {}", e.epoch, v.size(), want));
    e.loss = v[0], e.val_loss = v[1], e.lr = v[2], e.seconds = v[3];
    e.metrics.assign(v.begin() + 4, v.begin() + 4 + long(metrics));
    if (e.val_loss >= 0) e.val_metrics.assign(v.begin() + 4 + long(metrics), v.begin() + 4 + long(all_metrics));
    e.loss_parts.assign(v.begin() + 4 + long(all_metrics), v.end());
    h.push_back(e);
    pos = end + 1;
  }
  return h;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

} // namespace

std::string checkpoint_path(const std::string& dir) { return (fs::path(dir) / "checkpoint.safetensors").string(); }

void prepare_checkpoint_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("--checkpoint {}: cannot create the directory: {}", dir, ec.message()));
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("--checkpoint {}: not a directory", dir));
  // Probe with a real write: permissions alone do not tell (root, read-only mounts).
  std::string probe = (fs::path(dir) / ".dlc-write-test").string();
  try {
    frontend::write_file_atomic(probe, "ok");
  } catch (const Error&) {
    throw Error(fmt::format("--checkpoint {}: cannot write there: {}", dir, std::strerror(errno)));
  }
  ::unlink(probe.c_str());
}

void save_checkpoint(const std::string& dir, const CheckpointInfo& info, const ir::Bindings& values,
                     const TrainState& st) {
  dlc_rt::TensorMap out;
  for (auto& [name, t] : values) out[name] = dlc_rt::Array{t.shape().dims, t.to_float(), "F32"};
  for (auto& [name, t] : st.best) out[kBestPrefix + name] = dlc_rt::Array{t.shape().dims, t.to_float(), "F32"};
  std::map<std::string, std::string> meta = {
      {"format", "dlc-checkpoint"}, {"model", info.model},
      {"fingerprint", info.fingerprint}, {"seed", std::to_string(info.seed)},
      {"batch", std::to_string(info.batch)}, {"samples", std::to_string(info.samples)},
      {"epochs", std::to_string(info.epochs)}, {"step", std::to_string(st.step)},
      {"epoch", std::to_string(st.epoch)}, {"batch_in_epoch", std::to_string(st.batch_in_epoch)},
      {"loss_sum", hex(st.loss_sum)}, {"metrics", join(info.metrics)},
      {"loss_parts", join(info.loss_parts)}, {"loss_parts_sum", hex_list(st.loss_parts_sum)},
      {"metric_state", hex_list(st.metric_state)},
      {"plateau", hex_list({st.plateau.multiplier, st.plateau.best, double(st.plateau.seen), double(st.plateau.wait),
                            double(st.plateau.cooldown)})},
      {"seen", std::to_string(st.seen)}, {"history", history_meta(st.history)},
      {"best_val_loss", hex(st.best_val_loss)}, {"best_epoch", std::to_string(st.best_epoch)},
      {"wait", std::to_string(st.wait)}};
  // safetensors_bytes adds the CRC-32 that load_checkpoint requires and verifies.
  frontend::write_file_atomic(checkpoint_path(dir), dlc_rt::safetensors_bytes(out, meta));
}

namespace {

dlc_rt::TensorMap read_checkpoint(const std::string& path, std::map<std::string, std::string>& m) {
  try {
    return dlc_rt::read_safetensors_bytes(frontend::read_file(path), &m);
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: damaged checkpoint: {}", path, e.what()));
  }
}

// Limits a checkpoint's settings must keep (those of `dlc train`'s options).
constexpr int64_t kMaxBatch = int64_t(1) << 20, kMaxSamples = int64_t(1) << 40, kMaxEpochs = 1000000;

CheckpointInfo read_info(const Meta& meta) {
  if (meta.str("format") != "dlc-checkpoint") throw Error(fmt::format("{}: not a dlc checkpoint", meta.path));
  if (!meta.m.count(dlc_rt::st_detail::kChecksumKey))
    meta.damaged("it has no checksum ('crc32' in its metadata); dlc writes one into every checkpoint");
  CheckpointInfo info;
  info.model = meta.str("model");
  info.fingerprint = meta.str("fingerprint");
  info.seed = meta.u64("seed");
  info.batch = meta.integer("batch", 1, kMaxBatch);
  info.samples = meta.integer("samples", 1, kMaxSamples);
  info.epochs = meta.integer("epochs", 1, kMaxEpochs);
  auto split = [](const std::string& names) {
    std::vector<std::string> v;
    for (size_t p = 0; p < names.size();) {
      size_t comma = std::min(names.find(',', p), names.size());
      v.push_back(names.substr(p, comma - p));
      p = comma + 1;
    }
    return v;
  };
  info.metrics = split(meta.str("metrics"));
  // Checkpoints from before loss parts were recorded have none.
  if (meta.m.count("loss_parts")) info.loss_parts = split(meta.str("loss_parts"));
  return info;
}

// The run's counters, each in its range and consistent with the others (a checkpoint is
// written at a batch boundary: step = epoch x batches + batch_in_epoch).
void read_state(const Meta& meta, const CheckpointInfo& info, TrainState& st) {
  const int64_t batches = (info.samples + info.batch - 1) / info.batch;
  st.epoch = meta.integer("epoch", 0, info.epochs);
  st.batch_in_epoch = meta.integer("batch_in_epoch", 0, st.epoch < info.epochs ? batches - 1 : 0);
  st.step = meta.integer("step", 0, kMaxEpochs * batches);
  if (st.step != st.epoch * batches + st.batch_in_epoch)
    meta.damaged(fmt::format("its counters disagree: step {} is not epoch {} x {} batches + batch {}", st.step, st.epoch,
                             batches, st.batch_in_epoch));
  st.seen = meta.integer("seen", 0, info.samples);
  if (st.seen != std::min(st.batch_in_epoch * info.batch, info.samples))
    meta.damaged(fmt::format("'seen' is {}, but {} batches of {} were trained", st.seen, st.batch_in_epoch, info.batch));
  st.metric_state = parse_list(meta, meta.str("metric_state"), "metric_state");
  for (double v : st.metric_state)
    if (!(v >= 0)) meta.damaged(fmt::format("'metric_state' holds {}, expected sums >= 0", v));
  std::vector<double> p = parse_list(meta, meta.str("plateau"), "plateau");
  if (p.size() != 5 || !(p[0] > 0) || p[4] < 0 || p[3] < 0 || p[3] > double(st.epoch) || (p[2] != 0 && p[2] != 1))
    meta.damaged("bad 'plateau': expected multiplier > 0, best, seen (0 or 1), wait and cooldown");
  st.plateau = {p[0], p[1], p[2] != 0, int64_t(p[3]), int64_t(p[4])};
  st.loss_sum = meta.finite("loss_sum");
  if (meta.m.count("loss_parts_sum")) st.loss_parts_sum = parse_list(meta, meta.str("loss_parts_sum"), "loss_parts_sum");
  if (st.loss_parts_sum.size() != info.loss_parts.size())
    meta.damaged(fmt::format("'loss_parts_sum' has {} values for {} loss parts", st.loss_parts_sum.size(),
                             info.loss_parts.size()));
  st.history = parse_history(meta, info.metrics.size(), info.loss_parts.size());
  if (int64_t(st.history.size()) != st.epoch)
    meta.damaged(fmt::format("its history has {} epochs, but {} were completed", st.history.size(), st.epoch));
  st.best_val_loss = meta.num("best_val_loss");
  st.best_epoch = meta.integer("best_epoch", 0, st.epoch);
  st.wait = meta.integer("wait", 0, st.epoch);
}

} // namespace

CheckpointInfo peek_checkpoint(const std::string& dir) {
  std::string path = checkpoint_path(dir);
  std::map<std::string, std::string> m;
  read_checkpoint(path, m);
  return read_info(Meta{path, m});
}

void load_checkpoint(const std::string& dir, const std::string& expected_fingerprint, const ir::Bindings& like,
                     CheckpointInfo& info, ir::Bindings& values, TrainState& st) {
  std::string path = checkpoint_path(dir);
  std::map<std::string, std::string> m;
  dlc_rt::TensorMap tensors = read_checkpoint(path, m);
  Meta meta{path, m};
  info = read_info(meta);
  if (info.fingerprint != expected_fingerprint)
    throw Error(fmt::format("{}: the checkpoint is of another model ('{}', fingerprint {}; this model's is {})",
                            path, info.model, info.fingerprint, expected_fingerprint));
  read_state(meta, info, st);
  for (auto& [name, a] : tensors) {
    bool best = name.rfind(kBestPrefix, 0) == 0;
    std::string key = best ? name.substr(std::strlen(kBestPrefix)) : name;
    auto it = like.find(key);
    if (it == like.end() || a.shape != it->second.type.shape.dims)
      throw Error(fmt::format("{}: tensor '{}' {} does not fit the model", path, clip(name), dlc_rt::shape_str(a.shape)));
    for (float v : a.data)
      if (!std::isfinite(v)) meta.damaged(fmt::format("tensor '{}' holds {}", clip(name), v));
    (best ? st.best : values)[key] = ir::Tensor(it->second.type, a.data);
  }
  for (auto& [name, t] : like)
    if (!values.count(name)) throw Error(fmt::format("{}: damaged checkpoint: no tensor '{}'", path, name));
}

} // namespace dlc::tools
