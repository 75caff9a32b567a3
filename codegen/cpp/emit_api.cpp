// The extern "C" API of net.cpp: tables of the named tensors, then create/init/infer/
// train_step/get/set/save/load over them. The text is fixed; only the tables and the
// names change with the model ($P: the symbol prefix, $U: it in upper case).
#include "codegen/cpp/emit_detail.h"
#include "runtime/init.h"

#include <algorithm>

namespace dlc::codegen::cpp {

namespace {

// A block by the name net.cpp gives it (enum Block below).
const char* block_name(Block b) {
  switch (b) {
  case Block::infer_constants: return "kInferenceConstants";
  case Block::train_constants: return "kTrainingConstants";
  case Block::state: return "kState";
  case Block::arena: return "kArena";
  case Block::grad_constants: return "kGradientConstants";
  }
  return "?";
}

std::string tensor_fields(const Placed& p) {
  return fmt::format("{{{}, {}, {}, {}, {}}}", string_literal(p.v.name), block_name(p.at.block), p.at.offset,
                     p.v.ref.dtype == ir::DType::i32 ? 1 : 0, p.v.sample_elems);
}

std::string tensor_table(const char* name, const std::vector<Placed>& values) {
  std::string s = fmt::format("const TensorInfo {}[] = {{\n", name);
  for (const Placed& v : values) s += "    " + tensor_fields(v) + ",\n";
  if (values.empty()) s += "    {\"\", kArena, 0, 0, 0},\n";
  return s + "};\n";
}

int init_kind(const std::string& kind) {
  dlc_rt::InitKind k = dlc_rt::InitKind::zeros;
  dlc_rt::parse_init_kind(kind.c_str(), k);
  return int(k);
}

std::string value_table(const Layout& l, const std::vector<int64_t>& weight_offsets) {
  std::string s = "const ValueInfo kValues[] = {\n";
  for (size_t i = 0; i < l.persistent.size(); i++) {
    const Persistent& p = l.persistent[i];
    std::string shape;
    for (int64_t d : p.type.shape.dims) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    const ir::Initializer& in = p.init;
    if (p.places.size() > size_t(kMaxPlaces))
      throw Error(fmt::format("C++ backend: '{}' lives in {} places, at most {}", p.name, p.places.size(), kMaxPlaces));
    auto place = [&](size_t k) { return k < p.places.size() ? p.places[k] : Where{Block::state, -1}; };
    s += fmt::format("    {{{}, {}, {}, {{{}}}, {}, {}, {}, {}, {}, {}, {}, {{{}, {}, {}}}, {{{}, {}, {}}}, {}}},\n",
                     string_literal(p.name), p.kind == ir::ValueKind::param ? 1 : 0, p.type.shape.rank(),
                     shape.empty() ? "0" : shape, p.type.shape.numel(), init_kind(in.kind), double_literal(in.value),
                     in.has_value ? 1 : 0, in.fan_in, in.fan_out, p.places.size(), block_name(place(0).block),
                     block_name(place(1).block), block_name(place(2).block), place(0).offset, place(1).offset,
                     place(2).offset, i < weight_offsets.size() ? weight_offsets[i] : -1);
  }
  if (l.persistent.empty())
    s += "    {\"\", 0, 0, {0}, 0, 0, 0.0, 0, 1, 1, 0, {kState, kState, kState}, {0, 0, 0}, -1},\n";
  return s + "};\n";
}

// The learning-rate schedule as a dlc_rt::Schedule (runtime/schedule.h) that train_step
// evaluates, with its piecewise arrays.
std::string schedule_table(const dlc_rt::Schedule& sc) {
  static const char* kinds[] = {"constant", "inverse_sqrt", "inverse_time", "step", "exponential", "cosine", "piecewise"};
  auto list = [](const double* v, int64_t n) {
    std::string out;
    for (int64_t i = 0; i < n; i++) out += fmt::format("{}{}", i ? ", " : "", v[i]);
    return out;
  };
  std::string s, boundaries = "nullptr", values = "nullptr";
  if (sc.kind == dlc_rt::ScheduleKind::piecewise) {
    s += fmt::format("constexpr double kLrBoundaries[] = {{{}}};\n", list(sc.boundaries, sc.pieces));
    s += fmt::format("constexpr double kLrValues[] = {{{}}};\n", list(sc.values, sc.pieces + 1));
    boundaries = "kLrBoundaries";
    values = "kLrValues";
  }
  s += "// The learning rate of each training step (docs/training.md, runtime/schedule.h).\n";
  s += fmt::format("constexpr dlc_rt::Schedule kSchedule = {{dlc_rt::ScheduleKind::{}, /*lr=*/{}, /*per_step=*/{}, "
                   "/*warmup=*/{},\n    /*step_size=*/{}, /*gamma=*/{}, /*decay_rate=*/{}, /*decay_steps=*/{}, "
                   "/*alpha=*/{}, /*restarts=*/{},\n    /*t_mul=*/{}, /*m_mul=*/{}, {}, {}, /*pieces=*/{}}};\n",
                   kinds[int(sc.kind)], sc.lr, sc.per_step, sc.warmup, sc.step_size, sc.gamma, sc.decay_rate,
                   sc.decay_steps, sc.alpha, sc.restarts, sc.t_mul, sc.m_mul, boundaries, values, sc.pieces);
  return s;
}

// Each constant's place, element count and first value in kConstantData; a constant whose
// elements are all one value (a recurrent layer's zero initial state [batch, units]) keeps
// that value once and is filled with it (`splat`), so net.cpp does not grow with it.
std::string constant_table(const Layout& l, std::string& data) {
  std::string s = "const ConstantInfo kConstants[] = {\n";
  int64_t at = 0;
  auto bits = [](double d) {
    float f = float(d);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  };
  for (const Placed& c : l.constants) {
    const NamedValue& v = c.v;
    bool splat = v.data.size() > 1 &&
                 std::all_of(v.data.begin(), v.data.end(), [&](double d) { return bits(d) == bits(v.data[0]); });
    s += fmt::format("    {{{}, {}, {}, {}, {}}}, // {}\n", block_name(c.at.block), c.at.offset, v.data.size(), at,
                     splat ? "true" : "false", comment_text(v.name));
    for (double d : splat ? std::vector<double>{v.data[0]} : v.data)
      data += fmt::format("0x{:08x}u,{}", bits(d), ++at % 8 == 0 ? "\n" : " ");
  }
  if (l.constants.empty()) s += "    {kInferenceConstants, 0, 0, 0, false},\n";
  if (at == 0) data = "0u";
  return s + "};\n";
}

// The stateful layers' states, as indices into kValues (reset_states zeroes them).
std::string recurrent_state_table(const Layout& l) {
  std::string s = "// The stateful recurrent layers' states (indices into kValues), for reset_states.\n"
                  "const int kRecurrentStates[] = {";
  bool any = false;
  for (size_t i = 0; i < l.persistent.size(); i++)
    if (l.persistent[i].recurrent) s += fmt::format("{}{}", any ? ", " : "", i), any = true;
  s += any ? "};\n" : "-1};\n";
  return s + fmt::format("constexpr bool kStateful = {};\n", any ? "true" : "false");
}

int count_params(const Layout& l) {
  int n = 0;
  for (const Persistent& p : l.persistent) n += p.kind == ir::ValueKind::param;
  return n;
}

} // namespace

std::string emit_api(const Names& n, const Layout& l, const CppOptions& o, const std::string& weights_table,
                     const std::vector<int64_t>& weight_offsets) {
  std::string s = "\n// ---- the named tensors -------------------------------------------------------\n\n";
  s += "namespace {\n\n";
  s += with_names(R"cc(// The context's memory blocks ($P_ctx::blocks): each program's constants, the state the
// programs share (parameters, optimizer state) and the arena they take turns in.
enum Block : int { kInferenceConstants = 0, kTrainingConstants = 1, kState = 2, kArena = 3, kGradientConstants = 4 };

struct TensorInfo { // an input or output: block, byte offset, int32 storage, floats per sample
  const char* name;
  int block;
  int64_t offset;
  int is_i32;
  int64_t sample;
};

struct ValueInfo { // a parameter or optimizer state, and where it lives (one to three places)
  const char* name;
  int is_param;
  int rank;
  int64_t shape[8];
  int64_t numel;
  int init; // dlc_rt::InitKind
  double init_value;
  int init_has_value;
  int64_t fan_in, fan_out;
  int places;
  int block[3];
  int64_t offset[3];
  int64_t weights; // offset of its embedded values in kWeights, or -1
};

struct ConstantInfo {
  int block;
  int64_t offset, count, data;
  bool splat; // every element is kConstantData[data]
};

)cc", n);
  s += tensor_table("kInputs", l.inputs) + tensor_table("kOutputs", l.outputs);
  std::vector<Placed> train_x, targets;
  Placed lr;
  for (const Placed& v : l.train_inputs) {
    if (is_target_input(v.v.name)) targets.push_back(v);
    else if (v.v.name == "lr") lr = v;
    else train_x.push_back(v);
  }
  if (o.train) {
    s += tensor_table("kTrainInputs", train_x);
    s += tensor_table("kTargets", targets);
    s += "const TensorInfo kLr = " + tensor_fields(lr) + ";\n";
    s += "const TensorInfo kLoss = " + tensor_fields(*l.loss) + ";\n";
  }
  if (o.input_grad) {
    // The input-gradient program's own places of the inputs and targets (model order).
    std::vector<Placed> gx, gt;
    for (const Placed& in : l.inputs)
      for (const Placed& v : l.grad_inputs)
        if (v.v.name == in.v.name) gx.push_back(v);
    for (const Placed& v : l.grad_inputs)
      if (is_target_input(v.v.name)) gt.push_back(v);
    s += tensor_table("kGradInputs", gx) + tensor_table("kGradTargets", gt) + tensor_table("kGradOutputs", l.grad_outputs);
    s += "const TensorInfo kGradLoss = " + tensor_fields(*l.grad_loss) + ";\n";
  }
  std::string const_data;
  s += constant_table(l, const_data);
  s += "const uint32_t kConstantData[] = {\n" + const_data + "};\n";
  s += weights_table;
  s += value_table(l, weight_offsets);
  s += fmt::format("constexpr int kParamCount = {};\n", count_params(l));
  s += recurrent_state_table(l);
  s += fmt::format("constexpr uint64_t kBlockBytes[5] = {{{}ull, {}ull, {}ull, {}ull, {}ull}};\n", l.block_bytes[0],
                   l.block_bytes[1], l.block_bytes[2], l.block_bytes[3], l.block_bytes[4]);
  if (o.train) s += schedule_table(l.schedule);
  s += "constexpr int kMaxThreads = 1024;\n";
  s += fmt::format("constexpr int64_t kWorkerWorkspaceFloats = {}; // each kernel thread's GEMM packing buffer\n",
                   l.thread_workspace_bytes / 4);
  s += with_names(R"cc(
int fail($P_ctx* c, const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::vsnprintf(c->error, sizeof c->error, format, args);
  va_end(args);
  return -1;
}

float* place(const $P_ctx* c, const ValueInfo& v, int k) {
  return reinterpret_cast<float*>(c->blocks[v.block[k]] + v.offset[k]);
}

void write_value($P_ctx* c, const ValueInfo& v, const float* values) {
  for (int k = 0; k < v.places; k++) std::memcpy(place(c, v, k), values, size_t(v.numel) * sizeof(float));
  c->prepared = 0;
}

const ValueInfo* find_value(const char* name) {
  for (const ValueInfo& v : kValues)
    if (name && v.places > 0 && std::strcmp(v.name, name) == 0) return &v;
  return nullptr;
}

void load_constants($P_ctx* c) {
  for (const ConstantInfo& k : kConstants)
    if (k.splat)
      for (int64_t i = 0; i < k.count; i++) std::memcpy(c->blocks[k.block] + k.offset + 4 * i, kConstantData + k.data, 4);
    else if (k.count > 0)
      std::memcpy(c->blocks[k.block] + k.offset, kConstantData + k.data, size_t(k.count) * 4);
}

void load_embedded_weights($P_ctx* c) {
  for (const ValueInfo& v : kValues)
    if (v.weights >= 0 && v.places > 0) {
      std::memcpy(place(c, v, 0), kWeights + v.weights, size_t(v.numel) * 4);
      write_value(c, v, place(c, v, 0));
    }
}

// A program's memory: its constants block (kInferenceConstants, kTrainingConstants or
// kGradientConstants) and the shared ones; dropout only in training steps.
Mem memory_of($P_ctx* c, int constants, int64_t n) {
  bool train = constants == kTrainingConstants;
  Mem m;
  m.constants = c->blocks[constants];
  m.state = c->blocks[kState];
  m.arena = c->blocks[kArena];
  m.n = n;
  m.seed = c->seed;
  m.step = c->step;
  m.training = train ? c->training : 0;
  return m;
}

// n samples of one input: floats in, stored as the tensor's type (class ids as int32).
void copy_in($P_ctx* c, const TensorInfo& t, const float* src, int64_t n) {
  unsigned char* dst = c->blocks[t.block] + t.offset;
  int64_t count = n * t.sample;
  if (!t.is_i32) {
    std::memcpy(dst, src, size_t(count) * sizeof(float));
    return;
  }
  int32_t* ids = reinterpret_cast<int32_t*>(dst);
  for (int64_t i = 0; i < count; i++) ids[i] = src[i] >= -2147483648.0f && src[i] < 2147483648.0f ? int32_t(src[i]) : -1;
}

void copy_out(const $P_ctx* c, const TensorInfo& t, float* dst, int64_t n) {
  std::memcpy(dst, c->blocks[t.block] + t.offset, size_t(n * t.sample) * sizeof(float));
}

// The context's threads (set_threads; none: the caller's thread alone) as the calling
// thread's kernel pool during one call (thread-local: contexts on other threads are not
// affected).
struct KernelThreads {
  dlc_rt::ScopedKernelPool scope;
  explicit KernelThreads(const $P_ctx* c) : scope(static_cast<dlc_rt::ThreadPool*>(c->pool)) {}
};

// A decimal unsigned 64-bit number, all of `s`.
bool parse_u64(const std::string& s, uint64_t& v) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  unsigned long long x = std::strtoull(s.c_str(), nullptr, 10);
  if (errno) return false;
  v = x;
  return true;
}

// Parameters frozen at run time (set_frozen): indices into kValues of each frozen
// parameter and its optimizer slots, and room for their values during a step.
struct Frozen {
  std::vector<int> values;
  std::vector<float> saved;
};

int check_batch($P_ctx* c, int n) {
  if (kStateful && n != $U_BATCH)
    return fail(c, "n = %d samples: $P has stateful layers, which run whole batches of %d (row i continues row i of "
                "the call before)", n, $U_BATCH);
  if (n >= 1 && n <= $U_BATCH) return 0;
  return fail(c, "n = %d samples is outside [1, %d], the batch $P was compiled for", n, $U_BATCH);
}

dlc_rt::TensorMap values_to_save(const $P_ctx* c, bool with_state) {
  dlc_rt::TensorMap out;
  for (const ValueInfo& v : kValues) {
    if (v.places == 0 || (!v.is_param && !with_state)) continue;
    dlc_rt::Array a;
    a.shape.assign(v.shape, v.shape + v.rank);
    a.data.assign(place(c, v, 0), place(c, v, 0) + v.numel);
    out[v.name] = std::move(a);
  }
  return out;
}

int save_file($P_ctx* c, const char* path, bool with_state) {
  if (!c) return -1;
  if (!path) return fail(c, "no path to save to");
  try {
    std::map<std::string, std::string> meta = {{"format", "dlc"}, {"model", "$P"}};
    if (with_state) meta.insert({{"step", std::to_string(c->step)}, {"seed", std::to_string(c->seed)}});
    // Atomic and durable (temporary file, fsync, rename, fsync of the directory): a
    // crash during a save leaves the previous file whole.
    dlc_rt::write_file_durable(path, dlc_rt::safetensors_bytes(values_to_save(c, with_state), meta));
    return 0;
  } catch (const std::exception& e) {
    return fail(c, "%s: %s", path, e.what());
  }
}

} // namespace

extern "C" {

$P_ctx* $P_create(void) {
  $P_ctx* c = static_cast<$P_ctx*>(std::calloc(1, sizeof($P_ctx)));
  if (!c) return nullptr;
  size_t total = 64;
  for (uint64_t b : kBlockBytes) total += size_t((b + 63) / 64 * 64);
  c->memory = std::calloc(total, 1);
  if (!c->memory) {
    std::free(c);
    return nullptr;
  }
  uintptr_t at = (reinterpret_cast<uintptr_t>(c->memory) + 63) / 64 * 64;
  for (int b = 0; b < 5; b++) {
    c->blocks[b] = reinterpret_cast<unsigned char*>(at);
    at += uintptr_t((kBlockBytes[b] + 63) / 64 * 64);
  }
  load_constants(c);
  $P_init(c, 0);
  load_embedded_weights(c);
  c->lr = 0;
  c->lr_set = 0;
  c->epoch = 0;
  c->training = 1;
  return c;
}

void $P_destroy($P_ctx* c) {
  if (!c) return;
  delete static_cast<Frozen*>(c->frozen);
  delete static_cast<dlc_rt::ThreadPool*>(c->pool);
  std::free(c->memory);
  std::free(c);
}

void $P_init($P_ctx* c, uint64_t seed) {
  if (!c) return;
  for (const ValueInfo& v : kValues) {
    if (v.places == 0) continue;
    dlc_rt::fill_init(dlc_rt::InitKind(v.init), v.init_value, v.init_has_value != 0, v.fan_in, v.fan_out, seed,
                      dlc_rt::name_hash(v.name), place(c, v, 0), v.numel);
    write_value(c, v, place(c, v, 0));
  }
  c->seed = seed;
  c->step = 0;
}

int $P_set_threads($P_ctx* c, int threads) {
  if (!c) return 0;
  if (threads < 1 || threads > kMaxThreads) return fail(c, "set_threads: %d threads is outside [1, %d]", threads, kMaxThreads), 0;
  delete static_cast<dlc_rt::ThreadPool*>(c->pool);
  c->pool = nullptr;
  if (threads > 1) {
    dlc_rt::ThreadPool* pool = nullptr;
    try {
      pool = new dlc_rt::ThreadPool(threads);
      if (kWorkerWorkspaceFloats > 0) // the workers' packing buffers: no allocation in later calls
        dlc_rt::reserve_thread_workspaces(*pool, kWorkerWorkspaceFloats);
      c->pool = pool;
    } catch (const std::exception& e) { // out of memory, or the system refused a thread
      delete pool;
      fail(c, "set_threads: cannot start %d threads (%s); running on the caller's thread", threads, e.what());
    }
  }
  return c->pool ? threads : 1;
}

int $P_infer_io($P_ctx* c, const float* const* inputs, float* const* outputs, int n) {
  if (!c) return -1;
  if (check_batch(c, n) != 0) return -1;
  if (!inputs || !outputs) return fail(c, "infer_io: the %s array is NULL", inputs ? "outputs" : "inputs");
  for (int i = 0; i < $U_NUM_INPUTS; i++)
    if (!inputs[i]) return fail(c, "infer_io: input %d ('%s') is NULL", i, kInputs[i].name);
  for (int i = 0; i < $U_NUM_OUTPUTS; i++)
    if (!outputs[i]) return fail(c, "infer_io: output %d ('%s') is NULL", i, kOutputs[i].name);
  dlc_rt::FtzScope ftz;
  KernelThreads threads(c);
  for (int i = 0; i < $U_NUM_INPUTS; i++) copy_in(c, kInputs[i], inputs[i], n);
@PREPARE@  run_infer(memory_of(c, kInferenceConstants, n));
  for (int i = 0; i < $U_NUM_OUTPUTS; i++) copy_out(c, kOutputs[i], outputs[i], n);
  return 0;
}

int $P_infer($P_ctx* c, const float* x, float* y, int n) {
  if (!c) return -1;
  if (check_batch(c, n) != 0) return -1;
  if (!x || !y) return fail(c, "infer: %s is NULL", x ? "y" : "x");
  const float* inputs[$U_NUM_INPUTS];
  float* outputs[$U_NUM_OUTPUTS];
  for (int i = 0; i < $U_NUM_INPUTS; i++, x += n * kInputs[i - 1].sample) inputs[i] = x;
  for (int i = 0; i < $U_NUM_OUTPUTS; i++, y += n * kOutputs[i - 1].sample) outputs[i] = y;
  return $P_infer_io(c, inputs, outputs, n);
}

void $P_reset_states($P_ctx* c) {
  if (!c) return;
  for (int i : kRecurrentStates)
    if (i >= 0)
      for (int k = 0; k < kValues[i].places; k++) std::memset(place(c, kValues[i], k), 0, size_t(kValues[i].numel) * sizeof(float));
}

int $P_param_count(void) { return kParamCount; }
const char* $P_param_name(int i) { return i >= 0 && i < kParamCount ? kValues[i].name : nullptr; }
int64_t $P_param_size(int i) { return i >= 0 && i < kParamCount ? kValues[i].numel : -1; }

int $P_get_param(const $P_ctx* c, const char* name, float* values, int64_t count) {
  const ValueInfo* v = find_value(name);
  if (!c || !v || !values || count != v->numel) return -1; // const context: no error text
  std::memcpy(values, place(c, *v, 0), size_t(count) * sizeof(float));
  return 0;
}

int $P_set_param($P_ctx* c, const char* name, const float* values, int64_t count) {
  if (!c) return -1;
  const ValueInfo* v = find_value(name);
  if (!v) return fail(c, "no parameter or optimizer state named '%s'", name ? name : "(null)");
  if (!values || count != v->numel) return fail(c, "'%s' has %lld values, not %lld", v->name, (long long)v->numel, (long long)count);
  write_value(c, *v, values);
  return 0;
}

int $P_save($P_ctx* c, const char* path) { return save_file(c, path, true); }
int $P_save_weights($P_ctx* c, const char* path) { return save_file(c, path, false); }

int $P_load($P_ctx* c, const char* path) {
  if (!c) return -1;
  if (!path) return fail(c, "no path to load from");
  try {
    std::map<std::string, std::string> meta;
    dlc_rt::TensorMap file = dlc_rt::read_safetensors_bytes(dlc_rt::read_file_bytes(path), &meta);
    // dlc train's early-stopping copy ("best/NAME") is not this run's state.
    for (auto it = file.begin(); it != file.end();)
      if (it->first.rfind("best/", 0) == 0) it = file.erase(it);
      else ++it;
    for (const auto& [name, a] : file) { // check everything before changing anything
      const ValueInfo* v = find_value(name.c_str());
      if (!v) return fail(c, "%s: tensor '%s' matches no parameter or optimizer state of $P", path, name.c_str());
      if (a.shape != std::vector<int64_t>(v->shape, v->shape + v->rank))
        return fail(c, "%s: tensor '%s' has shape %s, $P expects %s", path, name.c_str(), dlc_rt::shape_str(a.shape).c_str(),
                    dlc_rt::shape_str(std::vector<int64_t>(v->shape, v->shape + v->rank)).c_str());
    }
    for (const ValueInfo& v : kValues)
      if (v.is_param && v.places > 0 && !file.count(v.name))
        return fail(c, "%s: no tensor for parameter '%s'", path, v.name);
    // A checkpoint's counters: the dropout masks of the steps that follow depend on them.
    uint64_t step = c->step, seed = c->seed;
    if (meta.count("step") && !parse_u64(meta["step"], step)) return fail(c, "%s: its 'step' is not a count", path);
    if (meta.count("seed") && !parse_u64(meta["seed"], seed)) return fail(c, "%s: its 'seed' is not a number", path);
    for (const auto& [name, a] : file) write_value(c, *find_value(name.c_str()), a.data.data());
    c->step = step;
    c->seed = seed;
    return 0;
  } catch (const std::exception& e) {
    return fail(c, "%s: %s", path, e.what());
  }
}

const char* $P_error(const $P_ctx* c) { return c ? c->error : "no context"; }
)cc",
             n);
  // The weights' preparation runs before the first inference after the parameters change.
  const char* prepare = "  if (!c->prepared) {\n    run_infer_prepare(memory_of(c, kInferenceConstants, 1));\n    c->prepared = 1;\n  }\n";
  s.replace(s.find("@PREPARE@"), 9, l.prepare ? prepare : "");
  if (o.train)
    s += with_names(R"cc(
float $P_train_step_io($P_ctx* c, const float* const* inputs, const float* const* targets, int n) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (!c) return nan;
  if (check_batch(c, n) != 0) return nan;
  if (!inputs || !targets) return fail(c, "train_step_io: the %s array is NULL", inputs ? "targets" : "inputs"), nan;
  for (int i = 0; i < $U_NUM_INPUTS; i++)
    if (!inputs[i]) return fail(c, "train_step_io: input %d ('%s') is NULL", i, kTrainInputs[i].name), nan;
  for (int i = 0; i < $U_NUM_TARGETS; i++)
    if (!targets[i]) return fail(c, "train_step_io: target %d ('%s') is NULL", i, kTargets[i].name), nan;
  dlc_rt::FtzScope ftz;
  KernelThreads threads(c);
  for (int i = 0; i < $U_NUM_INPUTS; i++) copy_in(c, kTrainInputs[i], inputs[i], n);
  for (int i = 0; i < $U_NUM_TARGETS; i++) copy_in(c, kTargets[i], targets[i], n);
  const float lr = $P_get_lr(c);
  std::memcpy(c->blocks[kLr.block] + kLr.offset, &lr, sizeof(float));
  Frozen* frozen = static_cast<Frozen*>(c->frozen);
  if (frozen) { // their values before the step (set_frozen sized `saved`)
    float* to = frozen->saved.data();
    for (int i : frozen->values) to = std::copy_n(place(c, kValues[i], 0), kValues[i].numel, to);
  }
  run_train(memory_of(c, kTrainingConstants, n));
  if (frozen) {
    const float* from = frozen->saved.data();
    for (int i : frozen->values) {
      write_value(c, kValues[i], from);
      from += kValues[i].numel;
    }
  }
  c->step++;
  c->prepared = 0; // the parameters changed
  float loss;
  std::memcpy(&loss, c->blocks[kLoss.block] + kLoss.offset, sizeof loss);
  return loss;
}

float $P_train_step($P_ctx* c, const float* x, const float* target, int n) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (!c) return nan;
  if (check_batch(c, n) != 0) return nan;
  if (!x || !target) return fail(c, "train_step: %s is NULL", x ? "target" : "x"), nan;
  const float* inputs[$U_NUM_INPUTS];
  const float* targets[$U_NUM_TARGETS];
  for (int i = 0; i < $U_NUM_INPUTS; i++, x += n * kTrainInputs[i - 1].sample) inputs[i] = x;
  for (int i = 0; i < $U_NUM_TARGETS; i++, target += n * kTargets[i - 1].sample) targets[i] = target;
  return $P_train_step_io(c, inputs, targets, n);
}

void $P_set_lr($P_ctx* c, float lr) {
  if (!c) return;
  c->lr = lr;
  c->lr_set = 1;
}
void $P_set_epoch($P_ctx* c, int64_t epoch) {
  if (c && epoch >= 0) c->epoch = uint64_t(epoch);
}
float $P_get_lr(const $P_ctx* c) {
  if (!c) return 0.0f;
  return c->lr_set ? c->lr : float(dlc_rt::scheduled_lr(kSchedule, c->step, c->epoch));
}
void $P_set_training($P_ctx* c, int training) {
  if (c) c->training = training ? 1 : 0;
}
int $P_set_frozen($P_ctx* c, const char* prefix, int frozen) {
  if (!c) return -1;
  if (!prefix) return fail(c, "set_frozen: the prefix is NULL");
  size_t len = std::strlen(prefix);
  try {
    Frozen* f = static_cast<Frozen*>(c->frozen);
    if (!f) f = new Frozen();
    c->frozen = f;
    int params = 0;
    for (int p = 0; p < kParamCount; p++) {
      const ValueInfo& v = kValues[p];
      if (v.places == 0 || std::strncmp(v.name, prefix, len) != 0) continue;
      params++;
      size_t name_len = std::strlen(v.name);
      for (int i = 0; i < int(sizeof kValues / sizeof kValues[0]); i++) { // the parameter and "<param>.<slot>"
        const char* w = kValues[i].name;
        bool mine = i == p || (std::strncmp(w, v.name, name_len) == 0 && w[name_len] == '.');
        if (!mine || kValues[i].places == 0) continue;
        auto at = std::find(f->values.begin(), f->values.end(), i);
        if (frozen && at == f->values.end()) f->values.push_back(i);
        if (!frozen && at != f->values.end()) f->values.erase(at);
      }
    }
    size_t floats = 0;
    for (int i : f->values) floats += size_t(kValues[i].numel);
    f->saved.assign(floats, 0.0f);
    if (f->values.empty()) {
      delete f;
      c->frozen = nullptr;
    }
    if (params == 0) return fail(c, "set_frozen: no parameter's name starts with '%s'", prefix);
    return params;
  } catch (const std::exception& e) {
    return fail(c, "set_frozen: %s", e.what());
  }
}
)cc",
               n);
  if (o.input_grad)
    s += with_names(R"cc(
float $P_input_grad($P_ctx* c, const float* x, const float* target, float* grad, int n) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (!c) return nan;
  if (check_batch(c, n) != 0) return nan;
  if (!x || !target || !grad) return fail(c, "input_grad: %s is NULL", !x ? "x" : !target ? "target" : "grad"), nan;
  dlc_rt::FtzScope ftz;
  KernelThreads threads(c);
  for (const TensorInfo& t : kGradInputs) {
    copy_in(c, t, x, n);
    x += n * t.sample;
  }
  for (const TensorInfo& t : kGradTargets) {
    copy_in(c, t, target, n);
    target += n * t.sample;
  }
  run_input_grad(memory_of(c, kGradientConstants, n));
  for (const TensorInfo& t : kGradOutputs) {
    copy_out(c, t, grad, n);
    grad += n * t.sample;
  }
  float loss;
  std::memcpy(&loss, c->blocks[kGradLoss.block] + kGradLoss.offset, sizeof loss);
  return loss;
}
)cc",
                    n);
  return s + "\n} // extern \"C\"\n";
}

} // namespace dlc::codegen::cpp
