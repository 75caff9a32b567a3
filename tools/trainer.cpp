#include "tools/trainer.h"

#include "frontend/files.h"
#include "frontend/weights.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "passes/training.h"
#include "pipeline/pipeline.h"
#include "runtime/rng.h"
#include "tools/checkpoint.h"
#include "tools/progress.h"
#include "tools/train_data.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <numeric>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace dlc::tools {

namespace {

// Ctrl-C only raises this flag; the loop checkpoints at the next batch boundary. The
// handler resets itself, so a second Ctrl-C ends the process at once.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

struct SigintGuard {
  struct sigaction old {};
  SigintGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
  }
  ~SigintGuard() { sigaction(SIGINT, &old, nullptr); }
};

// Tests deliver Ctrl-C at an exact step (DLC_TEST_SIGINT_AT_STEP=N) instead of racing a timer.
int64_t test_sigint_step() {
  const char* s = std::getenv("DLC_TEST_SIGINT_AT_STEP");
  return s ? std::atoll(s) : -1;
}

class TrainLoop {
public:
  TrainLoop(pipeline::Runner& r, const frontend::Model& m, const frontend::DataSplits& data, const TrainOptions& o)
      : r_(r), m_(m), data_(data), o_(o), f_(target_formats(r, m, data.train)),
        metrics_(make_metrics(r, f_, m.training.metrics)) {
    if (data.val.n) target_formats(r, m, data.val);
    if (data.test.n) target_formats(r, m, data.test);
    if (o.early_stopping > 0 && data.val.n == 0)
      throw Error("--early-stopping watches the validation loss: add --val-split F (e.g. --val-split 0.1)");
    const ir::PlateauSpec& p = m.training.optimizer.plateau;
    if (p.enabled && p.monitor.rfind("val_", 0) == 0 && data.val.n == 0)
      throw Error(fmt::format("{}: reduce_on_plateau monitors '{}', a validation value: add --val-split F (e.g. "
                              "--val-split 0.1) or monitor \"loss\"",
                              p.location, p.monitor));
    ckdir_ = o.checkpoint_dir.empty() ? o.resume_dir : o.checkpoint_dir;
    info_ = {model_fingerprint(m), m.name, o.seed, r.batch(), data.train.n, o.epochs, metrics_.names(),
             r.loss_part_names()};
    st_.loss_parts_sum.assign(info_.loss_parts.size(), 0.0);
    batches_ = (data.train.n + r.batch() - 1) / r.batch();
    // Stateful layers: row i of a batch continues row i of the one before, so the samples
    // keep their order and only whole batches run (docs/recurrent.md).
    if (r.stateful()) {
      batches_ = data.train.n / r.batch();
      if (batches_ == 0)
        throw Error(fmt::format("the model has stateful layers, which run whole batches: {} training samples do not "
                                "fill one batch of {}",
                                data.train.n, r.batch()));
    }
  }

  int run() {
    r_.init(o_.seed);
    if (!o_.resume_dir.empty()) resume();
    else if (!o_.initial_values.empty()) r_.set_values(o_.initial_values);
    if (!ckdir_.empty()) prepare_checkpoint_dir(ckdir_);
    print_header();
    r_.prepare(true);
    if (o_.verbose && r_.compile_ms() > 0) say("compile time: %.0f ms\n", r_.compile_ms());
    SigintGuard guard;
    bool stop = false;
    for (int64_t epoch = st_.epoch; epoch < o_.epochs && !stop; epoch++) {
      if (!train_epoch(epoch)) return 130;
      stop = end_epoch(epoch);
    }
    finish();
    return 0;
  }

private:
  // A line for the user on stdout, unless the options ask for quiet.
  __attribute__((format(printf, 2, 3))) void say(const char* format, ...) const {
    if (o_.quiet) return;
    va_list args;
    va_start(args, format);
    std::vfprintf(stdout, format, args);
    va_end(args);
  }

  pipeline::Runner& r_;
  const frontend::Model& m_;
  const frontend::DataSplits& data_;
  const TrainOptions& o_;
  std::vector<TargetFormat> f_; // one per loss
  pipeline::MetricSet metrics_; // this epoch's, over the training batches
  double last_lr_ = 0;        // the rate of the last step
  std::string ckdir_, last_good_;
  CheckpointInfo info_;
  int64_t batches_ = 0;
  TrainState st_;
  double epoch_secs_ = 0;
  std::set<std::string> params_; // the model's parameter names (early stopping keeps them)

  void resume() {
    CheckpointInfo ci;
    ir::Bindings values;
    load_checkpoint(o_.resume_dir, info_.fingerprint, r_.values(), ci, values, st_);
    if (ci.samples != data_.train.n)
      throw Error(fmt::format("--resume {}: the checkpoint was trained on {} samples, this data has {}",
                              o_.resume_dir, ci.samples, data_.train.n));
    if (ci.loss_parts != info_.loss_parts)
      throw Error(fmt::format("--resume {}: the checkpoint records the loss parts [{}]; the model now has [{}]",
                              o_.resume_dir, join_names(ci.loss_parts), join_names(info_.loss_parts)));
    if (ci.metrics != info_.metrics)
      throw Error(fmt::format("--resume {}: the checkpoint was made with the metrics [{}]; the model now lists [{}]",
                              o_.resume_dir, join_names(ci.metrics), join_names(info_.metrics)));
    if (ci.batch != r_.batch() || ci.seed != o_.seed)
      throw Error(fmt::format("--resume {}: the checkpoint was made with --batch {} --seed {}; this run has "
                              "--batch {} --seed {}",
                              o_.resume_dir, ci.batch, ci.seed, r_.batch(), o_.seed));
    try {
      metrics_.set_state(st_.metric_state);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: damaged checkpoint: {}", checkpoint_path(o_.resume_dir), e.what()));
    }
    r_.set_values(values);
    r_.set_seed(ci.seed);
    last_good_ = checkpoint_path(o_.resume_dir);
    say("resumed from %s: epoch %lld, batch %lld/%lld, step %lld\n", last_good_.c_str(),
                (long long)st_.epoch + 1, (long long)st_.batch_in_epoch, (long long)batches_, (long long)st_.step);
  }

  void print_header() const {
    say("training %s on %s: %lld samples (validation %lld, test %lld), batch %lld, %lld steps per "
                "epoch, backend %s\n",
                m_.name.c_str(), data_.train.name.c_str(), (long long)data_.train.n, (long long)data_.val.n,
                (long long)data_.test.n, (long long)r_.batch(), (long long)batches_, r_.backend().c_str());
    if (r_.stateful())
      say("stateful layers: the samples keep their order (no shuffling), row i of each batch continues row i "
                  "of the one before; the states are reset at the start of every epoch and of every evaluation; %lld "
                  "samples beyond the last whole batch are left out\n",
                  (long long)(data_.train.n - batches_ * r_.batch()));
    std::fflush(stdout);
  }

  // Trains the rest of epoch `epoch`; false when Ctrl-C stopped it (after a checkpoint).
  bool train_epoch(int64_t epoch) {
    std::vector<int64_t> order = epoch_order(data_.train.n, o_.seed, epoch);
    if (r_.stateful()) {
      std::iota(order.begin(), order.end(), 0);
      if (st_.batch_in_epoch == 0) r_.reset_states(); // a resumed epoch continues its checkpoint's states
    }
    int64_t out_size = 0;
    for (const TargetFormat& f : f_) out_size += f.output_size;
    std::vector<float> x, t, out(size_t(r_.batch() * out_size));
    ProgressBar bar(int(epoch + 1), int(o_.epochs), batches_, o_.live);
    int64_t sigint_at = test_sigint_step();
    for (int64_t b = st_.batch_in_epoch; b < batches_; b++) {
      int64_t begin = b * r_.batch(), n = std::min(r_.batch(), data_.train.n - begin);
      fill_batch(data_.train, f_, order, begin, n, x, t);
      double lr = passes::scheduled_lr(m_.training.optimizer, st_.step, epoch) * st_.plateau.multiplier;
      last_lr_ = lr;
      double loss = r_.train_step(x.data(), t.data(), n, lr, st_.step, out.data());
      if (!std::isfinite(loss)) {
        bar.finish();
        throw Error(nan_message(loss, epoch, b, lr));
      }
      st_.step++;
      st_.batch_in_epoch = b + 1;
      st_.loss_sum += loss * double(n);
      std::vector<double> parts = r_.last_loss_parts();
      for (size_t i = 0; i < parts.size() && i < st_.loss_parts_sum.size(); i++) st_.loss_parts_sum[i] += parts[i] * double(n);
      st_.seen += n;
      metrics_.add(out.data(), t.data(), n, r_.last_mask());
      bar.update(b + 1, st_.seen, st_.loss_sum / double(st_.seen), metrics_.line());
      if (st_.step == sigint_at) std::raise(SIGINT);
      if (g_interrupted) {
        bar.finish();
        interrupted(epoch);
        return false;
      }
    }
    epoch_secs_ = bar.finish();
    return true;
  }

  std::string nan_message(double loss, int64_t epoch, int64_t b, double lr) const {
    std::string ck = last_good_.empty() ? "no checkpoint was written (--checkpoint DIR keeps one per epoch)"
                                        : "the last good checkpoint is " + last_good_;
    return fmt::format("step {} (epoch {}, batch {}/{}): the loss is {}; {}; the learning rate {:g} is probably "
                       "too high: try a smaller one with --lr (e.g. {:g})",
                       st_.step + 1, epoch + 1, b + 1, batches_, std::isnan(loss) ? "NaN" : loss > 0 ? "+inf" : "-inf", ck,
                       lr, lr / 10);
  }

  void interrupted(int64_t epoch) {
    std::fflush(stdout);
    if (ckdir_.empty()) {
      std::fprintf(stderr, "interrupted at step %lld (epoch %lld, batch %lld/%lld); no checkpoint written "
                           "(--checkpoint DIR keeps one)\n",
                   (long long)st_.step, (long long)epoch + 1, (long long)st_.batch_in_epoch, (long long)batches_);
      return;
    }
    st_.metric_state = metrics_.state();
    save_checkpoint(ckdir_, info_, r_.values(), st_);
    std::fprintf(stderr, "interrupted at step %lld (epoch %lld, batch %lld/%lld): checkpoint written to %s; "
                         "continue with --resume %s\n",
                 (long long)st_.step, (long long)epoch + 1, (long long)st_.batch_in_epoch, (long long)batches_,
                 checkpoint_path(ckdir_).c_str(), ckdir_.c_str());
  }

  // Validation, early stopping, reduce_on_plateau, the epoch's line, checkpoint, plot and
  // history; true to stop.
  bool end_epoch(int64_t epoch) {
    EpochMetrics e;
    e.epoch = int(epoch + 1);
    e.loss = st_.loss_sum / double(std::max<int64_t>(st_.seen, 1));
    for (double& s : st_.loss_parts_sum) e.loss_parts.push_back(s / double(std::max<int64_t>(st_.seen, 1)));
    e.metrics = metrics_.values();
    e.lr = last_lr_;
    e.seconds = epoch_secs_;
    if (data_.val.n) {
      EvalResult v = evaluate_dataset(r_, data_.val, f_, m_.training.metrics);
      e.val_loss = v.loss;
      e.val_metrics = v.metrics;
    }
    st_.history.push_back(e);
    bool stop = early_stopping(e);
    print_epoch(e);
    reduce_on_plateau(e);
    st_.epoch = epoch + 1;
    st_.batch_in_epoch = 0;
    st_.loss_sum = 0;
    st_.loss_parts_sum.assign(st_.loss_parts_sum.size(), 0.0);
    st_.seen = 0;
    metrics_.reset();
    st_.metric_state = metrics_.state();
    if (!ckdir_.empty()) {
      save_checkpoint(ckdir_, info_, r_.values(), st_);
      last_good_ = checkpoint_path(ckdir_);
    }
    if (!o_.plot_path.empty())
      frontend::write_file_atomic(o_.plot_path, curves_svg(m_.name, st_.history, metrics_.names()));
    if (!o_.history_path.empty())
      frontend::write_file_atomic(o_.history_path, history_text(o_.history_path, st_.history, metrics_.names(), info_.loss_parts));
    if (o_.on_epoch_end && o_.on_epoch_end(history_text("history.json", st_.history, metrics_.names(), info_.loss_parts)))
      stop = true;
    return stop;
  }

  // The monitored value of epoch e: loss, val_loss, a metric or val_ + a metric.
  double monitored(const EpochMetrics& e, const std::string& name) const {
    if (name == "loss") return e.loss;
    if (name == "val_loss") return e.val_loss;
    bool val = name.rfind("val_", 0) == 0;
    std::vector<std::string> names = metrics_.names();
    for (size_t i = 0; i < names.size(); i++)
      if (names[i] == (val ? name.substr(4) : name)) return val ? e.val_metrics.at(i) : e.metrics.at(i);
    throw Error(fmt::format("reduce_on_plateau: no value '{}'", name)); // the frontend checked the name
  }

  void reduce_on_plateau(const EpochMetrics& e) {
    const ir::PlateauSpec& p = m_.training.optimizer.plateau;
    if (!p.enabled) return;
    double lr = m_.training.optimizer.get("lr");
    double before = lr * st_.plateau.multiplier;
    if (pipeline::plateau_epoch_end(p, lr, monitored(e, p.monitor), st_.plateau))
      say("epoch %d: reduce_on_plateau: %s did not improve for %lld epoch%s; learning rate %g -> %g\n",
                  e.epoch, p.monitor.c_str(), (long long)std::max<int64_t>(p.patience, 1), p.patience > 1 ? "s" : "", before,
                  lr * st_.plateau.multiplier);
  }

  bool early_stopping(const EpochMetrics& e) {
    if (o_.early_stopping <= 0) return false;
    if (st_.best_epoch == 0 || e.val_loss < st_.best_val_loss) {
      st_.best_val_loss = e.val_loss;
      st_.best_epoch = e.epoch;
      st_.wait = 0;
      st_.best.clear();
      for (auto& [name, t] : r_.values())
        if (is_param(name)) st_.best[name] = t;
      return false;
    }
    return ++st_.wait >= o_.early_stopping;
  }

  bool is_param(const std::string& name) {
    if (params_.empty()) {
      ir::Graph g = frontend::build_model(m_, 1).graph;
      for (ir::ValueId p : g.params()) params_.insert(g.value(p).name);
    }
    return params_.count(name) != 0;
  }

  void print_epoch(const EpochMetrics& e) const {
    std::string line = fmt::format("epoch {}/{}: loss {:.4f}", e.epoch, o_.epochs, e.loss);
    if (!metrics_.empty()) line += " " + metrics_.line();
    if (data_.val.n) {
      line += fmt::format(" val_loss {:.4f}", e.val_loss);
      if (!metrics_.empty()) line += " " + pipeline::metrics_line(metrics_.names(), e.val_metrics, "val_");
    }
    if (m_.training.optimizer.plateau.enabled) line += fmt::format(" lr {:g}", e.lr);
    double rate = epoch_secs_ > 0 ? double(data_.train.n) / epoch_secs_ : 0;
    say("%s (%.1f s, %.0f samples/s)\n", line.c_str(), epoch_secs_, rate);
    std::fflush(stdout);
  }

  void finish() {
    if (o_.early_stopping > 0 && st_.best_epoch > 0 && !st_.best.empty()) {
      r_.set_values(st_.best);
      say("early stopping: restored the weights of epoch %lld (val_loss %.4f)\n",
                  (long long)st_.best_epoch, st_.best_val_loss);
    }
    if (!o_.weights_out.empty()) {
      frontend::save_weights(o_.weights_out, frontend::build_model(m_, 1).graph, r_.values());
      say("wrote %s\n", o_.weights_out.c_str());
    }
    if (data_.test.n) {
      EvalResult t = evaluate_dataset(r_, data_.test, f_, m_.training.metrics);
      say("test: loss %.4f%s\n", t.loss, t.metrics_line.empty() ? "" : (" " + t.metrics_line).c_str());
    }
    std::fflush(stdout);
  }
};

} // namespace

std::string model_fingerprint(const frontend::Model& m) {
  auto kind = m.training.has_loss ? passes::ProgramKind::training : passes::ProgramKind::inference;
  std::string text = ir::print_graph(pipeline::program_graph(m, kind, 1));
  return fmt::format("{:016x}", dlc_rt::name_hash(text.c_str()));
}

std::string history_text(const std::string& path, const std::vector<EpochMetrics>& history,
                         const std::vector<std::string>& metrics, const std::vector<std::string>& loss_parts) {
  bool val = !history.empty() && history.front().val_loss >= 0;
  std::vector<std::string> cols = {"epoch", "loss"};
  cols.insert(cols.end(), loss_parts.begin(), loss_parts.end());
  cols.insert(cols.end(), metrics.begin(), metrics.end());
  if (val) {
    cols.push_back("val_loss");
    for (auto& m : metrics) cols.push_back("val_" + m);
  }
  cols.push_back("lr");
  cols.push_back("time");
  // Each epoch's values in the columns' order; {:.9g} keeps a float's digits.
  std::vector<std::vector<std::string>> rows;
  for (auto& e : history) {
    std::vector<std::string> r = {std::to_string(e.epoch), fmt::format("{:.9g}", e.loss)};
    for (double v : e.loss_parts) r.push_back(fmt::format("{:.9g}", v));
    for (double v : e.metrics) r.push_back(fmt::format("{:.9g}", v));
    if (val) {
      r.push_back(fmt::format("{:.9g}", e.val_loss));
      for (double v : e.val_metrics) r.push_back(fmt::format("{:.9g}", v));
    }
    r.push_back(fmt::format("{:.9g}", e.lr));
    r.push_back(fmt::format("{:.6f}", e.seconds));
    rows.push_back(r);
  }
  bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  std::string out;
  if (!json) {
    for (size_t c = 0; c < cols.size(); c++) out += (c ? "," : "") + cols[c];
    out += "\n";
    for (auto& r : rows) {
      for (size_t c = 0; c < r.size(); c++) out += (c ? "," : "") + r[c];
      out += "\n";
    }
    return out;
  }
  // Keras's History.history: one array per column, in the CSV's order and with its
  // values (the epoch an integer).
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t c = 0; c < cols.size(); c++) {
    nlohmann::ordered_json column = nlohmann::ordered_json::array();
    for (auto& r : rows) {
      if (c == 0) column.push_back(std::stoll(r[c]));
      else column.push_back(std::stod(r[c]));
    }
    j[cols[c]] = std::move(column);
  }
  return j.dump(2) + "\n";
}

int train(pipeline::Runner& r, const frontend::Model& m, const frontend::DataSplits& data, const TrainOptions& o) {
  if (!r.can_train()) throw Error(fmt::format("model '{}' has no loss: it cannot be trained", m.name));
  return TrainLoop(r, m, data, o).run();
}

} // namespace dlc::tools
