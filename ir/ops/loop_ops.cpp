// Loops: `scan` runs a body graph once per step over the time axis (axis 1) of its
// sequences, as ONNX's Scan and JAX's lax.scan do; docs/recurrent.md describes its use.
//
//   results = scan(carries..., sequences..., invariants...) {carries=k, sequences=s[, reverse][, steps]}
//
// The body's inputs are, in order, the k carried values, one step's slice of each
// sequence ([n, T, ...] -> [n, ...]) and the invariants (weights, read whole every
// step); its outputs are the k carried values of the next step, then the per-step
// outputs. The scan's results are the k carried values after the last step, then every
// per-step output stacked along axis 1 ([n, ...] -> [n, T, ...]). With `reverse` the
// steps run from T - 1 down to 0 (a per-step output still lands at its step's index).
// Without sequences, `steps` gives T.
#include "ir/graph.h"
#include "ir/ops/common.h"

namespace dlc::ir::ops {

namespace {

std::vector<TensorType> infer_scan(const InferContext& c) {
  const Graph& body = *c.body;
  int64_t k = c.attrs.get_int("carries"), s = c.attrs.get_int("sequences");
  int64_t operands = int64_t(c.in.size());
  if (k < 0 || s < 0 || k + s > operands)
    c.fail("carries={} and sequences={} do not fit its {} operands", k, s, operands);
  if (int64_t(body.inputs().size()) != operands)
    c.fail("its body takes {} inputs, the loop passes {}", body.inputs().size(), operands);
  if (int64_t(body.outputs().size()) < k)
    c.fail("its body has {} outputs, fewer than the {} carried values", body.outputs().size(), k);
  if (!body.params().empty() || !body.states().empty() || !body.updates().empty())
    c.fail("its body has parameters, state or updates of its own: pass weights in as invariants");
  int64_t steps = c.attrs.get_int("steps", -1);
  for (int64_t j = k; j < k + s; j++) {
    const Shape& sh = c.in[size_t(j)].shape;
    if (sh.rank() < 2) c.fail("sequence operand {} {} has no time axis (axis 1)", j, c.in[size_t(j)].str());
    if (steps >= 0 && sh[1] != steps)
      c.fail("sequence operand {} has {} steps, the loop runs {}", j, sh[1], steps);
    steps = sh[1];
  }
  if (steps < 0) c.fail("a loop without sequences needs its number of steps (attribute 'steps')");
  if (steps == 0) c.fail("a loop over 0 steps");
  for (int64_t j = 0; j < operands; j++) {
    TensorType want = c.in[size_t(j)];
    if (j >= k && j < k + s) want.shape.dims.erase(want.shape.dims.begin() + 1);
    const TensorType& got = body.type(body.inputs()[size_t(j)]);
    if (got != want)
      c.fail("body input {} ('{}') is {}, the loop passes {}", j, body.value(body.inputs()[size_t(j)]).name,
             got.str(), want.str());
  }
  std::vector<TensorType> out;
  for (size_t i = 0; i < body.outputs().size(); i++) {
    TensorType t = body.type(body.outputs()[i].value);
    if (int64_t(i) < k) {
      if (t != c.in[i])
        c.fail("carried value {} enters as {} and leaves the body as {}", i, c.in[i].str(), t.str());
    } else {
      if (t.shape.rank() < 1) c.fail("per-step output '{}' is a scalar: it has no batch axis to stack after", body.outputs()[i].name);
      t.shape.dims.insert(t.shape.dims.begin() + 1, steps);
    }
    out.push_back(t);
  }
  return out;
}

// The body's values follow the batch from its inputs (ir::loop_body_batched); a stacked
// output is batched when its step's value is (stacking inserts the time axis after axis 0).
bool batch_scan(const BatchContext& c) {
  const Graph& body = *c.body;
  size_t k = size_t(c.attrs.get_int("carries"));
  std::vector<bool> b = batched_values(body, loop_body_batched(body, c.batched, k, c.batch, c.node), c.batch);
  c.per_result.clear();
  for (auto& o : body.outputs()) c.per_result.push_back(b[size_t(o.value)]);
  return std::find(c.per_result.begin(), c.per_result.end(), true) != c.per_result.end();
}

} // namespace

void register_loop_ops() {
  OpDef& scan = register_op({"scan", "runs its body once per step over axis 1 of its sequences", 0, -1,
                             {{"carries", AttrKind::Int},
                              {"sequences", AttrKind::Int},
                              {"reverse", AttrKind::Bool, false},
                              {"steps", AttrKind::Int, false}},
                             infer_scan, OpClass::loop});
  scan.has_body = true;
  scan.batch = batch_scan;
  // A running sum s' = s + w * x_t over 4 steps, every step's s' also stacked.
  scan.example = OpExample{{{f32({2, 3})}, {f32({2, 4, 3})}, {f32({2, 3})}},
                           {{"carries", int64_t(1)}, {"sequences", int64_t(1)}},
                           [] {
                             auto body = std::make_shared<Graph>();
                             ValueId s = body->add_input("s", f32({2, 3}));
                             ValueId x = body->add_input("x", f32({2, 3}));
                             ValueId w = body->add_input("w", f32({2, 3}));
                             ValueId next = body->add("add", {s, body->add("mul", {w, x}, {}, "wx")}, {}, "next");
                             body->add_output("s", next);
                             body->add_output("y", next);
                             return std::shared_ptr<const Graph>(body);
                           }};
}

} // namespace dlc::ir::ops
