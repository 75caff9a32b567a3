// Reference kernel of `scan` (ir/ops/loop_ops.cpp): the body evaluated by the interpreter
// once per step, the carried values passed from step to step.
#include "ir/interp/eval_common.h"
#include "ir/interp/interpreter.h"

namespace dlc::ir::interp {

namespace {

// Rows [n, T, inner] <-> [n, inner] at step t: the elements of one step of a sequence.
void step_copy(const Tensor& from, Tensor& to, int64_t t, int64_t steps, bool into_sequence) {
  int64_t n = (into_sequence ? to : from).shape()[0];
  int64_t inner = (into_sequence ? from : to).numel() / n;
  for (int64_t a = 0; a < n; a++)
    for (int64_t r = 0; r < inner; r++) {
      int64_t seq = (a * steps + t) * inner + r, one = a * inner + r;
      if (into_sequence) to[seq] = from[one];
      else to[one] = from[seq];
    }
}

} // namespace

void register_loop_evals() {
  register_eval("scan", [](const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out,
                           const EvalContext& ctx) {
    const Graph& body = *n.body;
    size_t k = size_t(n.attrs.get_int("carries")), s = size_t(n.attrs.get_int("sequences"));
    bool reverse = n.attrs.get_bool("reverse", false);
    int64_t steps = s > 0 ? in[k]->shape()[1] : n.attrs.get_int("steps");
    Bindings b;
    auto name = [&](size_t i) { return body.value(body.inputs()[i]).name; };
    for (size_t i = 0; i < in.size(); i++)
      if (i < k || i >= k + s) b[name(i)] = *in[i];
    for (int64_t step = 0; step < steps; step++) {
      int64_t t = reverse ? steps - 1 - step : step;
      for (size_t j = k; j < k + s; j++) {
        Tensor x(body.type(body.inputs()[j]));
        step_copy(*in[j], x, t, steps, false);
        b[name(j)] = std::move(x);
      }
      auto results = run_outputs(body, b, ctx);
      for (size_t i = 0; i < results.size(); i++) {
        if (i < k) b[name(i)] = std::move(results[i].second);
        else step_copy(results[i].second, out[i], t, steps, true);
      }
    }
    for (size_t i = 0; i < k; i++) out[i] = b[name(i)];
  });
}

} // namespace dlc::ir::interp
