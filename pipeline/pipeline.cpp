#include "pipeline/pipeline.h"

#include "passes/fold_batch_norm.h"
#include "passes/training.h"

namespace dlc::pipeline {

ir::Graph program_graph(const frontend::Model& m, ProgramKind kind, int64_t batch) {
  ir::Graph g = frontend::build_model(m, batch).graph;
  if (kind == ProgramKind::inference) return passes::fold_batch_norm(passes::specialize_phase(g, false));
  try {
    if (kind == ProgramKind::evaluation) return passes::build_loss_graph(g, m.training).graph;
    if (kind == ProgramKind::input_gradient) return passes::build_input_gradient_graph(g, m.training).graph;
    return passes::build_training_graph(g, m.training).graph;
  } catch (const Error& e) {
    throw Error(m.source_name() + ": " + e.what()); // the model cannot train: say which file
  }
}

passes::Program compile(const frontend::Model& m, ProgramKind kind, int64_t batch, const Options& o) {
  passes::PassOptions po = o.pass_options;
  po.prepare_weights = kind == ProgramKind::inference;
  return passes::run_pipeline(program_graph(m, kind, batch), o.passes, po);
}

codegen::ProgramSource jit_source(const frontend::Model& m, int64_t batch, const Options& o) {
  codegen::ProgramSource s;
  s.batch = batch;
  s.can_train = m.training.has_loss;
  if (s.can_train) {
    // Each loss's target and the classes of the output it reads (its last axis).
    ir::Graph g = frontend::build_model(m, batch).graph;
    for (size_t i = 0; i < m.training.losses.size(); i++)
      for (const auto& out : g.outputs())
        if (out.name == m.training.losses[i].output)
          s.targets.push_back({passes::target_name(m.training, i), g.type(out.value).shape[g.type(out.value).shape.rank() - 1]});
  }
  s.graph = [m, batch](ProgramKind k) { return program_graph(m, k, batch); };
  s.compile = [m, batch, o](ProgramKind k) { return compile(m, k, batch, o); };
  return s;
}

codegen::CppFiles emit_cpp(const frontend::Model& m, const ir::Bindings* weights, codegen::CppOptions options,
                           const Options& o) {
  int64_t batch = options.batch > 0 ? options.batch : m.training.batch_size;
  passes::Program infer = compile(m, ProgramKind::inference, batch, o);
  std::optional<passes::Program> train;
  if (options.train) {
    if (!m.training.has_loss) throw Error(fmt::format("{}: --train needs a model with a loss (and optimizer) to train", m.source_name()));
    train = compile(m, ProgramKind::training, batch, o);
  } else if (options.input_grad) {
    throw Error("--input-grad needs --train (the gradient program shares the training program's parameters)");
  }
  std::optional<passes::Program> grad;
  if (options.input_grad) {
    for (const frontend::InputSpec& in : m.inputs)
      if (in.dtype != ir::DType::f32)
        throw Error(fmt::format("{}: --input-grad: input '{}' is {}, which has no gradient (f32 inputs only)",
                                m.source_name(), in.name, ir::dtype_name(in.dtype)));
    grad = compile(m, ProgramKind::input_gradient, batch, o);
  }
  codegen::CppModel cm;
  cm.name = m.name;
  cm.infer = &infer;
  cm.train = train ? &*train : nullptr;
  cm.grad = grad ? &*grad : nullptr;
  if (options.train) cm.schedule = passes::runtime_schedule(m.training.optimizer);
  return codegen::emit_cpp(cm, weights, options);
}

} // namespace dlc::pipeline
