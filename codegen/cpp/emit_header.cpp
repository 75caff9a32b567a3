// net.h: the sizes as macros, the context struct and the extern "C" API (valid C and C++).
#include "codegen/cpp/emit_detail.h"

namespace dlc::codegen::cpp {

namespace {

int64_t sample_floats(const std::vector<Placed>& values) {
  int64_t s = 0;
  for (const Placed& v : values) s += v.v.sample_elems;
  return s;
}

std::string shapes(const std::vector<Placed>& values) {
  std::string s;
  for (const Placed& p : values) s += fmt::format("{}'{}' {}", s.empty() ? "" : ", ", comment_text(p.v.name), p.v.type.str());
  return s;
}

} // namespace

std::string emit_header(const Names& n, const Layout& l, const CppOptions& o, const std::string& banner) {
  std::string guard = n.upper + "_H_INCLUDED";
  std::string h = banner;
  h += fmt::format("#ifndef {0}\n#define {0}\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n", guard);
  h += fmt::format("/* Sizes. A call may pass any n in [1, {0}]. Inputs and outputs are row-major float\n"
                   "   arrays, sample axis first: inputs {1}; outputs {2}. */\n",
                   n.macro("BATCH"), shapes(l.inputs), shapes(l.outputs));
  h += fmt::format("#define {} {}\n", n.macro("BATCH"), l.batch);
  bool stateful = false;
  for (const Persistent& p : l.persistent) stateful = stateful || p.recurrent;
  h += fmt::format("#define {} {} /* 1: stateful recurrent layers (see reset_states) */\n", n.macro("STATEFUL"), stateful ? 1 : 0);
  h += fmt::format("#define {} {} /* inputs */\n#define {} {} /* outputs */\n", n.macro("NUM_INPUTS"), l.inputs.size(),
                   n.macro("NUM_OUTPUTS"), l.outputs.size());
  h += fmt::format("#define {} {} /* floats per sample, all inputs together */\n", n.macro("INPUT_SIZE"), sample_floats(l.inputs));
  h += fmt::format("#define {} {} /* floats per sample, all outputs together */\n", n.macro("OUTPUT_SIZE"), sample_floats(l.outputs));
  for (size_t i = 0; i < l.inputs.size() && l.inputs.size() > 1; i++)
    h += fmt::format("#define {}{}_SIZE {} /* '{}' */\n", n.macro("INPUT"), i, l.inputs[i].v.sample_elems, comment_text(l.inputs[i].v.name));
  for (size_t i = 0; i < l.outputs.size() && l.outputs.size() > 1; i++)
    h += fmt::format("#define {}{}_SIZE {} /* '{}' */\n", n.macro("OUTPUT"), i, l.outputs[i].v.sample_elems, comment_text(l.outputs[i].v.name));
  if (o.train) {
    // One target per loss; several (a loss per output) travel as the inputs do.
    std::vector<const NamedValue*> targets;
    for (const Placed& p : l.train_inputs)
      if (is_target_input(p.v.name)) targets.push_back(&p.v);
    int64_t floats = 0;
    bool ids = false;
    for (const NamedValue* v : targets) floats += v->sample_elems, ids |= v->type.dtype != ir::DType::f32;
    h += fmt::format("#define {} {} /* losses: targets per training step */\n", n.macro("NUM_TARGETS"), targets.size());
    h += fmt::format("#define {} {} /* floats per sample of the training targets{} */\n", n.macro("TARGET_SIZE"),
                     floats, ids ? " (class ids as floats)" : "");
    for (size_t i = 0; i < targets.size() && targets.size() > 1; i++)
      h += fmt::format("#define {}{}_SIZE {} /* the loss on '{}'{} */\n", n.macro("TARGET"), i, targets[i]->sample_elems,
                       comment_text(targets[i]->name.substr(7)),
                       targets[i]->type.dtype == ir::DType::f32 ? "" : " (class ids as floats)");
  }
  const char* what[kBlocks] = {"constants of inference", "constants of training", "parameters and optimizer state",
                               "activations, temporaries and workspaces, as `dlc plan` reports them",
                               "constants of the input gradient (--input-grad)"};
  const char* macro[kBlocks] = {"INFER_CONSTANTS_BYTES", "TRAIN_CONSTANTS_BYTES", "STATE_BYTES", "ARENA_BYTES",
                                "GRAD_CONSTANTS_BYTES"};
  h += "/* The memory blocks, planned at compile time and allocated once by create. */\n";
  for (int b = 0; b < kBlocks; b++)
    h += fmt::format("#define {} {}ull /* {} */\n", n.macro(macro[b]), l.block_bytes[size_t(b)], what[b]);
  h += fmt::format("#define {} {}ull /* made by set_threads for each kernel thread beyond the caller's */\n",
                   n.macro("THREAD_WORKSPACE_BYTES"), l.thread_workspace_bytes);
  h += fmt::format(R"cc(
/* Everything a model instance owns; create/destroy manage it. Two contexts share nothing. */
typedef struct {0}_ctx {{
  unsigned char* blocks[5]; /* infer constants, train constants, state, arena, gradient constants: 64-byte aligned */
  void* memory;             /* the one allocation behind the blocks */
  uint64_t seed;            /* dropout masks of training steps */
  uint64_t step;            /* training steps taken */
  uint64_t epoch;           /* the epoch of the next steps (set_epoch), for epoch schedules */
  float lr;                 /* the rate given to set_lr, when lr_set */
  int lr_set;               /* 1: set_lr fixed the rate; 0: the model's schedule gives it */
  int training;             /* 1: dropout is active in training steps (default) */
  int prepared;             /* 1: inference's prepared weights (folded normalisation) match the parameters */
  char error[256];          /* why the last call that returned an error failed */
  void* pool;               /* the kernels' threads (set_threads); NULL: the caller's only */
  void* frozen;             /* parameters frozen at run time (set_frozen); NULL: none */
}} {0}_ctx;

/* A context with the embedded weights (or, without them, initialised from seed 0); NULL
   when out of memory. */
{0}_ctx* {0}_create(void);
void {0}_destroy({0}_ctx* ctx);
/* Parameters from their initializers and optimizer state from its start, for a seed. */
void {0}_init({0}_ctx* ctx, uint64_t seed);
/* The first model output of n samples: y[n * {1}] from x[n * {2}]. With several inputs
   (outputs), x (y) holds them one after another, n samples each. 0, or -1 (see error). */
int {0}_infer({0}_ctx* ctx, const float* x, float* y, int n);
/* The same with one array per input and per output. */
int {0}_infer_io({0}_ctx* ctx, const float* const* inputs, float* const* outputs, int n);
/* Stateful recurrent layers ({3} 1): infer and train_step continue each layer's state
   from the call before (row i of x continues row i) and take n = {4} only; reset_states
   sets the states to zeros, to start new streams (docs/recurrent.md). No effect without. */
void {0}_reset_states({0}_ctx* ctx);
/* Runs the matrix products and convolutions of later calls on `threads` threads, the
   calling one included (1, the default: no other thread; at most 1024). Results are the
   same bits for any count. The threads belong to this context: contexts on other threads
   are not affected. Returns the count in use (1 and an error when they cannot start). */
int {0}_set_threads({0}_ctx* ctx, int threads);
)cc",
                   n.lower, n.macro("OUTPUT_SIZE"), n.macro("INPUT_SIZE"), n.macro("STATEFUL"), n.macro("BATCH"));
  if (o.train)
    h += fmt::format(R"cc(/* One optimizer step on n samples; returns the mean loss over those n samples (NaN and
   an error when n is out of range). x as for infer; target[n * {1}]: with several
   losses, each loss's targets one after another, n samples each. With several losses the
   loss is their weighted sum (the model's loss_weights). */
float {0}_train_step({0}_ctx* ctx, const float* x, const float* target, int n);
/* The same with one array per input and per loss's targets. */
float {0}_train_step_io({0}_ctx* ctx, const float* const* inputs, const float* const* targets, int n);
/* The learning rate follows the model's schedule (docs/training.md) over the steps taken
   and the epoch given to set_epoch (0 until set), as `dlc train` does; set_lr fixes it
   instead, for every later step. get_lr: the rate of the next step. */
void {0}_set_lr({0}_ctx* ctx, float lr);
void {0}_set_epoch({0}_ctx* ctx, int64_t epoch);
float {0}_get_lr(const {0}_ctx* ctx);
/* 1: dropout active in training steps (the default); 0: off. Inference never drops. */
void {0}_set_training({0}_ctx* ctx, int training);
/* Freezes (frozen 1) or thaws (0) every parameter whose name starts with `prefix` (a
   layer, "dense_1." with the dot; or many, "d_"): train_step leaves them and their
   optimizer state as they were (their gradients are still computed; "trainable": false
   in the model compiles them out). Returns how many parameters matched (-1 and an error
   for none). */
int {0}_set_frozen({0}_ctx* ctx, const char* prefix, int frozen);
)cc",
                     n.lower, n.macro("TARGET_SIZE"));
  if (o.input_grad)
    h += fmt::format(R"cc(#define {2} 1 /* input_grad is here */
/* --input-grad: the gradient of the mean loss over n samples with respect to the inputs,
   grad[n * {1}] laid out as x (zero for token ids), at the current parameters and as an
   evaluation computes the loss (no dropout, moving statistics); nothing is updated.
   Returns the loss (NaN and an error for a bad n or a NULL array). Saliency maps,
   adversarial examples, a GAN generator's step through a discriminator. */
float {0}_input_grad({0}_ctx* ctx, const float* x, const float* target, float* grad, int n);
)cc",
                     n.lower, n.macro("INPUT_SIZE"), n.macro("INPUT_GRAD"));
  h += fmt::format(R"cc(/* Parameters (and, by name, optimizer state). get/set return 0, or -1 for an unknown
   name or a count that is not the value's size. */
int {0}_param_count(void);
const char* {0}_param_name(int i);
int64_t {0}_param_size(int i);
int {0}_get_param(const {0}_ctx* ctx, const char* name, float* values, int64_t count);
int {0}_set_param({0}_ctx* ctx, const char* name, const float* values, int64_t count);
/* safetensors files. save: parameters and optimizer state; save_weights: parameters only.
   load: every parameter must be present with its shape; optimizer state is loaded when
   present. 0, or -1 and nothing changed (see error). */
int {0}_save({0}_ctx* ctx, const char* path);
int {0}_save_weights({0}_ctx* ctx, const char* path);
int {0}_load({0}_ctx* ctx, const char* path);
const char* {0}_error(const {0}_ctx* ctx);

#ifdef __cplusplus
}}
#endif

#endif
)cc",
                   n.lower);
  return h;
}

} // namespace dlc::codegen::cpp
