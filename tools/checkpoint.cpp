#include "tools/checkpoint.h"

#include "frontend/files.h"
#include "ir/error.h"
#include "runtime/safetensors.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace dlc::tools {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBestPrefix = "best/";

std::string hex(double v) { return fmt::format("{:a}", v); }

// Metadata fields, read back with errors that name the checkpoint.
struct Meta {
  const std::string& path;
  const std::map<std::string, std::string>& m;
  const std::string& str(const std::string& k) const {
    auto it = m.find(k);
    if (it == m.end()) throw Error(fmt::format("{}: not a dlc checkpoint (no '{}' in its metadata)", path, k));
    return it->second;
  }
  double num(const std::string& k) const { return parse(str(k), k); }
  uint64_t u64(const std::string& k) const {
    const std::string& s = str(k);
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end || errno) throw Error(fmt::format("{}: damaged checkpoint: bad '{}' ({})", path, k, s));
    return v;
  }
  int64_t integer(const std::string& k) const { return int64_t(num(k)); }
  double parse(const std::string& s, const std::string& k) const {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || errno) throw Error(fmt::format("{}: damaged checkpoint: bad '{}' ({})", path, k, s));
    return v;
  }
};

std::string history_text(const std::vector<EpochMetrics>& h) {
  std::string s;
  for (auto& e : h)
    s += fmt::format("{}{},{},{},{}", s.empty() ? "" : ";", hex(e.loss), hex(e.accuracy), hex(e.val_loss),
                     hex(e.val_accuracy));
  return s;
}

std::vector<EpochMetrics> parse_history(const Meta& meta) {
  std::vector<EpochMetrics> h;
  const std::string& s = meta.str("history");
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(';', pos);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(pos, end - pos);
    double v[4];
    size_t p = 0;
    for (int k = 0; k < 4; k++) {
      size_t comma = k < 3 ? item.find(',', p) : item.size();
      if (comma == std::string::npos) throw Error(fmt::format("{}: damaged checkpoint: bad history", meta.path));
      v[k] = meta.parse(item.substr(p, comma - p), "history");
      p = comma + 1;
    }
    h.push_back({int(h.size()) + 1, v[0], v[1], v[2], v[3]});
    pos = end + 1;
  }
  return h;
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
      {"loss_sum", hex(st.loss_sum)}, {"correct", std::to_string(st.correct)},
      {"seen", std::to_string(st.seen)}, {"history", history_text(st.history)},
      {"best_val_loss", hex(st.best_val_loss)}, {"best_epoch", std::to_string(st.best_epoch)},
      {"wait", std::to_string(st.wait)}};
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

CheckpointInfo read_info(const Meta& meta) {
  if (meta.str("format") != "dlc-checkpoint") throw Error(fmt::format("{}: not a dlc checkpoint", meta.path));
  CheckpointInfo info;
  info.model = meta.str("model");
  info.fingerprint = meta.str("fingerprint");
  info.seed = meta.u64("seed");
  info.batch = meta.integer("batch");
  info.samples = meta.integer("samples");
  info.epochs = meta.integer("epochs");
  return info;
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
  st.step = meta.integer("step");
  st.epoch = meta.integer("epoch");
  st.batch_in_epoch = meta.integer("batch_in_epoch");
  st.loss_sum = meta.num("loss_sum");
  st.correct = meta.integer("correct");
  st.seen = meta.integer("seen");
  st.history = parse_history(meta);
  st.best_val_loss = meta.num("best_val_loss");
  st.best_epoch = meta.integer("best_epoch");
  st.wait = meta.integer("wait");
  for (auto& [name, a] : tensors) {
    bool best = name.rfind(kBestPrefix, 0) == 0;
    std::string key = best ? name.substr(std::strlen(kBestPrefix)) : name;
    auto it = like.find(key);
    if (it == like.end() || a.shape != it->second.type.shape.dims)
      throw Error(fmt::format("{}: tensor '{}' {} does not fit the model", path, name, dlc_rt::shape_str(a.shape)));
    (best ? st.best : values)[key] = ir::Tensor(it->second.type, a.data);
  }
  for (auto& [name, t] : like)
    if (!values.count(name)) throw Error(fmt::format("{}: damaged checkpoint: no tensor '{}'", path, name));
}

} // namespace dlc::tools
