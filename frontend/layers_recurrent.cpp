// Recurrent layers (simple_rnn, lstm, gru), time_distributed and repeat_vector
// (docs/recurrent.md). A recurrent layer reads x [batch, T, D] and computes
//   xw = x·W + b                one matmul for the input projection of all T steps
// then one loop (`scan`) over the T steps whose body is the cell:
//   z_t = xw[:, t] + h_{t-1}·U  and the gates, slices of z_t combined element-wise.
// The graph, and what is compiled from it, does not grow with T. With go_backwards the
// loop runs t = T-1 .. 0 (the scan's `reverse`). With stateful, the carried states start
// from persistent graph state and the loop's final states are written back to it.
#include "frontend/layers_recurrent.h"

namespace dlc::frontend {

using ir::Shape;
using ir::ValueId;
using ir::kNoValue;

namespace {

// The element-wise activations a recurrent cell may use.
const std::vector<std::string> kCellActivations = {"tanh", "sigmoid", "relu", "linear"};

std::string cell_activation(const LayerCtx& c, const std::string& key, const std::string& dflt) {
  auto r = c.spec.get(key);
  if (!r) return dflt;
  std::string a = r->as_string();
  for (auto& k : kCellActivations)
    if (k == a) return a;
  std::string hint = did_you_mean(a, kCellActivations);
  r->fail("unknown {} '{}' for a recurrent cell{}", key, clip(a), hint.empty() ? "; use " + join_names(kCellActivations) : hint);
}

// The parts every recurrent layer shares: its sizes, the input projection, the state
// given by extra inputs, and the helpers that add one step's nodes to the loop's body.
struct Cell {
  LayerCtx& c;
  bool backwards = false; // the steps run from T-1 down to 0
  bool stateful = false;  // the states persist from one call to the next (Keras's stateful)
  int64_t n = 0, steps = 0, features = 0, units = 0, gates = 0;
  ValueId xw = kNoValue;   // [n, T, gates * units]: x_t·W + b of every step
  ValueId recurrent_bias = kNoValue; // [gates * units]: the recurrent product's bias, if any
  // The loop's body, with its inputs in the scan's order: carried values, the step's
  // slice of xw, invariants.
  std::shared_ptr<ir::Graph> body;
  std::vector<ValueId> carries, invariants; // the scan's operands (layer graph values)
  ValueId x_t = kNoValue;                   // in the body: this step's xw slice [n, gates * units]
  ValueId mask = kNoValue;                  // the sequence's mask [n, T, 1], or kNoValue
  ValueId m_t = kNoValue;                   // in the body: this step's mask [n, 1]

  Cell(LayerCtx& ctx, int64_t gate_count, bool go_backwards) : c(ctx), backwards(go_backwards), gates(gate_count) {
    const Shape xs = c.in_type().shape; // a copy: the graph grows below
    if (xs.rank() != 3 || !ir::is_float(c.in_type().dtype))
      c.fail_input(0, "a sequence input [batch, time, features] of floats");
    n = xs[0];
    steps = xs[1];
    features = xs[2];
    units = c.spec.require("units").as_positive_int();
    if (steps == 0) c.fail_input(0, "a sequence of at least one step");
    stateful = c.spec.get_bool("stateful", false);
    if (stateful && c.inputs.size() > 1)
      c.spec.get("stateful")->fail("layer '{}' ({}): a stateful layer carries its own state from one batch to the next; "
                                   "it takes no initial-state inputs",
                                   c.info.name, c.info.type);
    c.mask_handled = true;
    if (c.in_mask() != kNoValue)
      mask = c.op("reshape", {c.in_mask()}, {{"shape", std::vector<int64_t>{n, steps, 1}}}, "step_mask");
    body = std::make_shared<ir::Graph>();
    body->name = c.info.name + ".step";
  }

  // A node of the step: "<layer>.<what>" in the body.
  ValueId op(const std::string& name, const std::string& what, std::vector<ValueId> operands, ir::Attrs attrs = {}) {
    return body->add(name, std::move(operands), std::move(attrs), c.info.name + "." + what);
  }
  // x + y, or x when y is absent (a zero initial state contributes nothing).
  ValueId add(ValueId x, ValueId y, const std::string& what) { return y == kNoValue ? x : op("add", what, {x, y}); }
  ValueId mul(ValueId x, ValueId y, const std::string& what) { return op("mul", what, {x, y}); }
  ValueId act(const std::string& a, ValueId x, const std::string& what) {
    return a == "linear" ? x : op(a, what, {x});
  }
  // Columns [begin, begin + size) of a [n, k] value.
  ValueId cols(ValueId x, int64_t begin, int64_t size, const std::string& what) {
    return op("slice", what, {x}, {{"axis", int64_t(1)}, {"begin", begin}, {"size", size}});
  }
  // This step's input projection, gates [begin, begin + size): [n, size * units].
  ValueId step_input(int64_t begin, int64_t size, const std::string& what) {
    return begin == 0 && size == gates ? x_t : cols(x_t, begin * units, size * units, what);
  }

  // kernel W [D, G*H], recurrent_kernel U [H, G*H], bias [G*H] (with `bias_init` for
  // the layer's default), and xw. With bias_rows 2 the bias is [2, G*H]: row 0 is xw's,
  // row 1 the recurrent product's (recurrent_bias, a GRU with reset_after).
  ValueId weights(ir::Initializer bias_init, int64_t bias_rows = 1) {
    int64_t gh = gates * units;
    ValueId x = c.op("reshape", {c.in()}, {{"shape", std::vector<int64_t>{n * steps, features}}}, "to_rows");
    ValueId w = c.param("kernel", {features, gh}, c.initializer("kernel_initializer", "glorot_uniform", features, gh));
    ValueId u = c.param("recurrent_kernel", {units, gh},
                        c.initializer("recurrent_initializer", "orthogonal", units, gh));
    ValueId y = c.op("matmul", {x, w}, {}, "input_matmul");
    if (c.spec.get_bool("use_bias", true)) {
      bias_init.fan_in = features;
      bias_init.fan_out = gh;
      if (c.spec.has("bias_initializer")) bias_init = c.initializer("bias_initializer", "zeros", features, gh);
      else if (bias_init.kind == "unit_forget_bias") bias_init.fan_in = units; // the forget gate's offset
      Shape bias_shape = bias_rows == 1 ? Shape{gh} : Shape{bias_rows, gh};
      ValueId b = c.param("bias", bias_shape, bias_init);
      auto row = [&](int64_t i, const char* what) {
        ValueId r = c.op("slice", {b}, {{"axis", int64_t(0)}, {"begin", i}, {"size", int64_t(1)}}, std::string(what) + "_row");
        return c.op("reshape", {r}, {{"shape", std::vector<int64_t>{gh}}}, what);
      };
      if (bias_rows == 2) recurrent_bias = row(1, "recurrent_bias");
      y = c.op("bias_add", {y, bias_rows == 1 ? b : row(0, "input_bias")});
    }
    xw = c.op("reshape", {y}, {{"shape", std::vector<int64_t>{n, steps, gh}}}, "xw");
    return u;
  }

  // The initial state from the layer's extra input i (graph form), or kNoValue (zero).
  ValueId given_state(size_t i, const char* what) {
    if (i >= c.inputs.size()) return kNoValue;
    const ir::TensorType& s = c.in_type(i);
    if (s.shape != Shape{n, units} || !ir::is_float(s.dtype))
      c.fail_input(i, fmt::format("an initial {} state [batch, {}] of floats", what, units));
    return c.in(i);
  }

  // A carried state: the body's input for it, starting from `initial` or zeros. Declare
  // carries first, then call sequence(), then the invariants: the body's inputs are in
  // that order. A stateful layer starts from persistent graph state "<layer>.state_<what>"
  // [batch, units], zeros at first (docs/recurrent.md, "State across batches").
  ValueId carry(ValueId initial, const std::string& what) {
    if (stateful)
      initial = c.g.add_state(fmt::format("{}.state_{}", c.info.name, what), ir::TensorType{ir::DType::f32, {n, units}},
                              ir::Initializer{});
    if (initial == kNoValue)
      initial = c.g.add_constant(fmt::format("{}.{}0", c.info.name, what), ir::TensorType{ir::DType::f32, {n, units}},
                                 std::vector<float>(size_t(n * units), 0.0f));
    carries.push_back(initial);
    return body->add_input(what, ir::TensorType{ir::DType::f32, {n, units}});
  }
  // The body's inputs for this step's slice of xw and of the mask.
  void sequence() {
    x_t = body->add_input("x", ir::TensorType{ir::DType::f32, {n, gates * units}});
    if (mask != kNoValue) m_t = body->add_input("mask", ir::TensorType{ir::DType::f32, {n, 1}});
  }
  // A value of the layer's graph read whole by every step (a weight).
  ValueId invariant(ValueId v, const std::string& what) {
    invariants.push_back(v);
    return body->add_input(what, c.g.type(v));
  }

  // Runs `step` over the sequence: it takes the carried states and returns their next
  // values; the loop gives the last states and, with return_sequences, every step's h.
  // With a mask, a padded step keeps the states it received: s' = s + m_t (next - s), as
  // Keras; the step's output is then the carried h.
  Recurrence run(std::vector<ValueId> state, const std::function<std::vector<ValueId>(std::vector<ValueId>)>& step) {
    bool sequences = c.spec.get_bool("return_sequences", false);
    std::vector<ValueId> next = step(state);
    if (m_t != kNoValue)
      for (size_t i = 0; i < next.size(); i++) {
        std::string what = body->value(state[i]).name;
        ValueId change = op("sub", what + "_change", {next[i], state[i]});
        next[i] = add(state[i], mul(m_t, change, what + "_masked_change"), what + "_kept");
      }
    for (size_t i = 0; i < next.size(); i++) body->add_output(body->value(state[i]).name, next[i]);
    if (sequences) body->add_output("output", next[0]);
    std::vector<ValueId> operands = carries;
    operands.push_back(xw);
    if (mask != kNoValue) operands.push_back(mask);
    operands.insert(operands.end(), invariants.begin(), invariants.end());
    ir::Attrs attrs{{"carries", int64_t(carries.size())}, {"sequences", int64_t(mask == kNoValue ? 1 : 2)}};
    if (backwards) attrs.set("reverse", true);
    auto r = c.g.add_node("scan", operands, attrs, c.info.name + ".loop", body);
    Recurrence out;
    out.states.assign(r.begin(), r.begin() + long(carries.size()));
    // Truncated BPTT: the next batch starts from these states, read as values of their
    // own (a state gets no gradient), so no gradient crosses from one batch to the last.
    if (stateful)
      for (size_t i = 0; i < carries.size(); i++) c.g.add_update(carries[i], out.states[i]);
    for (size_t i = 0; i < carries.size(); i++) out.state_names.push_back(body->value(body->inputs()[i]).name);
    if (sequences) out.sequence = r.back();
    return out;
  }
};

ir::Initializer zeros() { return ir::Initializer{}; }

Recurrence simple_rnn(LayerCtx& c, bool backwards) {
  Cell cell(c, 1, backwards);
  std::string a = cell_activation(c, "activation", "tanh");
  c.info.activation = a;
  ValueId u_graph = cell.weights(zeros());
  ValueId h0 = cell.carry(cell.given_state(1, "hidden"), "h");
  cell.sequence();
  ValueId u = cell.invariant(u_graph, "recurrent_kernel");
  return cell.run({h0}, [&](std::vector<ValueId> s) -> std::vector<ValueId> {
    ValueId z = cell.step_input(0, 1, "x");
    if (s[0] != kNoValue) z = cell.add(z, cell.op("matmul", "hu", {s[0], u}), "z");
    return {cell.act(a, z, "h")};
  });
}

// Keras's gate order i, f, u (candidate), o. With peepholes (Gers & Schmidhuber), the
// input and forget gates also see c_{t-1} and the output gate sees c_t through diagonal
// weights.
Recurrence lstm(LayerCtx& c, bool backwards) {
  if (c.inputs.size() == 2)
    c.spec.fail("layer '{}' (lstm) takes its initial state as two inputs after the sequence (h0 and c0), got one",
                c.info.name);
  Cell cell(c, 4, backwards);
  std::string a = cell_activation(c, "activation", "tanh");
  std::string ra = cell_activation(c, "recurrent_activation", "sigmoid");
  c.info.activation = a;
  // unit_forget_bias: the forget gate's bias starts at 1 (Jozefowicz et al. 2015), so that
  // the cell keeps its state early in training; the other gates' biases start at 0.
  ir::Initializer bias_init = zeros();
  if (c.spec.get_bool("unit_forget_bias", true)) {
    bias_init.kind = "unit_forget_bias";
  }
  ValueId u_graph = cell.weights(bias_init);
  ValueId pi = kNoValue, pf = kNoValue, po = kNoValue;
  bool peephole = c.spec.get_bool("peephole", false);
  if (peephole) {
    pi = c.param("peephole_i", {cell.units}, zeros());
    pf = c.param("peephole_f", {cell.units}, zeros());
    po = c.param("peephole_o", {cell.units}, zeros());
  }
  ValueId h0 = cell.carry(cell.given_state(1, "hidden"), "h");
  ValueId c0 = cell.carry(cell.given_state(2, "cell"), "c");
  cell.sequence();
  ValueId u = cell.invariant(u_graph, "recurrent_kernel");
  if (peephole) {
    pi = cell.invariant(pi, "peephole_i");
    pf = cell.invariant(pf, "peephole_f");
    po = cell.invariant(po, "peephole_o");
  }
  int64_t H = cell.units;
  return cell.run({h0, c0}, [&](std::vector<ValueId> s) -> std::vector<ValueId> {
    ValueId h = s[0], cs = s[1];
    ValueId z = cell.step_input(0, 4, "x");
    if (h != kNoValue) z = cell.add(z, cell.op("matmul", "hu", {h, u}), "z");
    auto peep = [&](ValueId pre, ValueId p, ValueId state, const std::string& g) {
      return p == kNoValue || state == kNoValue ? pre : cell.add(pre, cell.mul(p, state, "peep_" + g), "pre_" + g);
    };
    ValueId i = cell.act(ra, peep(cell.cols(z, 0, H, "zi"), pi, cs, "i"), "i");
    ValueId cand = cell.act(a, cell.cols(z, 2 * H, H, "zu"), "u");
    ValueId next = cell.mul(i, cand, "iu");
    if (cs != kNoValue) {
      ValueId f = cell.act(ra, peep(cell.cols(z, H, H, "zf"), pf, cs, "f"), "f");
      next = cell.add(cell.mul(f, cs, "fc"), next, "c");
    }
    ValueId o = cell.act(ra, peep(cell.cols(z, 3 * H, H, "zo"), po, next, "o"), "o");
    return {cell.mul(o, cell.act(a, next, "c_act"), "h"), next};
  });
}

// The gate order z (update), r (reset), h~ (candidate), as Keras, and the update of Cho
// et al. 2014, as Keras, PyTorch and ONNX: h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h~_t,
// computed as h~_t + z_t ⊙ (h_{t-1} - h~_t). The reset gate applies
// - before the recurrent matmul of the candidate (reset_after=false, dlc's default):
//   h~_t = tanh(x_t·W_h + b_h + (r_t ⊙ h_{t-1})·U_h), two matmuls per step;
// - after it (reset_after=true: Keras 2's default, PyTorch's nn.GRU, ONNX's
//   linear_before_reset=1), with a second bias b' for the recurrent product, so that the
//   bias is [2, 3H] (row 0 the input's, row 1 the recurrent product's, as Keras stores it):
//   h~_t = tanh(x_t·W_h + b_h + r_t ⊙ (h_{t-1}·U_h + b'_h)), one matmul per step.
Recurrence gru(LayerCtx& c, bool backwards) {
  Cell cell(c, 3, backwards);
  std::string a = cell_activation(c, "activation", "tanh");
  std::string ra = cell_activation(c, "recurrent_activation", "sigmoid");
  c.info.activation = a;
  int64_t H = cell.units;
  bool reset_after = c.spec.get_bool("reset_after", false);
  ValueId u = cell.weights(zeros(), reset_after ? 2 : 1);
  auto u_cols = [&](int64_t begin, int64_t size, const char* what) {
    return c.op("slice", {u}, {{"axis", int64_t(1)}, {"begin", begin}, {"size", size}}, what);
  };
  ValueId h0 = cell.carry(cell.given_state(1, "hidden"), "h");
  cell.sequence();
  // The update and reset gates from their pre-activations zr [n, 2H].
  auto gates = [&](ValueId zr) {
    return std::pair{cell.act(ra, cell.cols(zr, 0, H, "zz"), "z"), cell.act(ra, cell.cols(zr, H, H, "zr_r"), "r")};
  };
  auto next_state = [&](ValueId h, ValueId z, ValueId hh) {
    ValueId cand = cell.act(a, hh, "cand");
    return std::vector<ValueId>{cell.add(cand, cell.mul(z, cell.op("sub", "h_minus_cand", {h, cand}), "zd"), "h")};
  };
  if (reset_after) {
    ValueId u_all = cell.invariant(u, "recurrent_kernel");
    ValueId rb = cell.recurrent_bias == kNoValue ? kNoValue : cell.invariant(cell.recurrent_bias, "recurrent_bias");
    return cell.run({h0}, [&](std::vector<ValueId> s) -> std::vector<ValueId> {
      ValueId h = s[0];
      ValueId hu = cell.op("matmul", "hu", {h, u_all});
      if (rb != kNoValue) hu = cell.op("bias_add", "hu_b", {hu, rb});
      auto [z, r] = gates(cell.add(cell.step_input(0, 2, "x_zr"), cell.cols(hu, 0, 2 * H, "hu_zr"), "zr"));
      ValueId hh = cell.add(cell.step_input(2, 1, "x_h"), cell.mul(r, cell.cols(hu, 2 * H, H, "hu_h"), "rhu_h"), "hh");
      return next_state(h, z, hh);
    });
  }
  ValueId u_zr = cell.invariant(u_cols(0, 2 * H, "u_zr"), "u_zr"), u_h = cell.invariant(u_cols(2 * H, H, "u_h"), "u_h");
  return cell.run({h0}, [&](std::vector<ValueId> s) -> std::vector<ValueId> {
    ValueId h = s[0];
    auto [z, r] = gates(cell.add(cell.step_input(0, 2, "x_zr"), cell.op("matmul", "hu_zr", {h, u_zr}), "zr"));
    ValueId hh = cell.add(cell.step_input(2, 1, "x_h"), cell.op("matmul", "rhu_h", {cell.mul(r, h, "rh"), u_h}), "hh");
    return next_state(h, z, hh);
  });
}

} // namespace

Recurrence recurrence(LayerCtx& c, bool backwards) {
  if (c.info.type == "lstm") return lstm(c, backwards);
  if (c.info.type == "gru") return gru(c, backwards);
  return simple_rnn(c, backwards);
}

ValueId sequence_mask(LayerCtx& c, bool reversed) {
  ValueId m = c.in_mask();
  if (m == kNoValue || !reversed) return m;
  return c.op("reverse", {m}, {{"axis", int64_t(1)}}, "reversed_mask");
}

namespace {

// simple_rnn, lstm, gru: the loop, and its output in Keras's order. A go_backwards layer
// returns its steps in the order it ran them, as Keras's does: output index 0 is the state
// after the last input step, and the last state is the one after step 0. With
// return_state the final states are outputs too: "<layer>.h" (lstm: and "<layer>.c").
LayerDef recurrent_layer(const std::string& type, std::vector<std::string> keys, int max_inputs) {
  return {type, std::move(keys), 1, max_inputs, [](LayerCtx& c) {
            bool backwards = c.spec.get_bool("go_backwards", false);
            Recurrence r = recurrence(c, backwards);
            if (c.spec.get_bool("return_state", false))
              for (size_t i = 0; i < r.states.size(); i++)
                c.info.extra_outputs.push_back({r.state_names[i], r.states[i]});
            if (r.sequence == kNoValue) return r.states[0];
            c.info.mask = sequence_mask(c, backwards);
            return backwards ? c.op("reverse", {r.sequence}, {{"axis", int64_t(1)}}, "reversed") : r.sequence;
          }};
}

// masking (Keras's Masking): step t of a sample is padding when all its features equal
// mask_value (default 0). The output is the input with padded steps zeroed, and carries
// the mask m = sign(max |x_t - mask_value|) [batch, T].
ValueId build_masking(LayerCtx& c) {
  const ir::TensorType xt = c.in_type();
  if (xt.shape.rank() < 3 || !ir::is_float(xt.dtype))
    c.fail_input(0, "a sequence input [batch, time, features...] of floats");
  double v = 0;
  if (auto r = c.spec.get("mask_value")) v = r->as_number();
  std::vector<int64_t> features;
  for (int a = 2; a < xt.shape.rank(); a++) features.push_back(a);
  ValueId off = v == 0 ? c.in() : c.op("scale", {c.in()}, {{"scale", 1.0}, {"offset", -v}}, "offset");
  ValueId most = c.op("reduce_max", {c.op("abs", {off}, {}, "distance")}, {{"axes", features}}, "largest_distance");
  c.mask_handled = true;
  c.info.mask = c.op("sign", {most}, {}, "mask");
  std::vector<int64_t> per_step = {xt.shape[0], xt.shape[1]};
  per_step.resize(size_t(xt.shape.rank()), 1);
  return c.op("mul", {c.in(), c.op("reshape", {c.info.mask}, {{"shape", per_step}}, "step_mask")}, {}, "masked");
}

// time_distributed: the wrapped layer (dense) applied at every step as one matmul over
// the [batch * T, D] rows, with the wrapper's name for its parameters.
ValueId build_time_distributed(LayerCtx& c) {
  const Shape xs = c.in_type().shape;
  if (xs.rank() != 3) c.fail_input(0, "a sequence input [batch, time, features]");
  JsonRef inner = c.spec.require("layer");
  inner.expect(json::Kind::Object);
  std::string type = inner.require("type").as_string();
  if (type != "dense")
    inner.require("type").fail("time_distributed wraps a dense layer, not '{}'", clip(type));
  const LayerDef* def = find_layer(type);
  std::vector<std::string> keys = def->keys;
  keys.push_back("type");
  inner.expect_only(keys, "the layer wrapped by time_distributed");
  LayerCtx ic{c.g, inner, c.info, c.inputs};
  return def->build(ic);
}

// repeat_vector (Keras's RepeatVector): [batch, F] -> [batch, n, F], the input at every
// one of n steps, to feed a one-to-many model's recurrent layer. A broadcast of a
// one-step view, so its gradient sums the steps (broadcast_to's rule).
ValueId build_repeat_vector(LayerCtx& c) {
  const Shape xs = c.in_type().shape;
  if (xs.rank() != 2 || !ir::is_float(c.in_type().dtype)) c.fail_input(0, "an input [batch, features] of floats");
  JsonRef n = c.spec.require("n");
  int64_t steps = n.as_positive_int();
  if (checked_numel(Shape{xs[0], steps, xs[1]}) < 0)
    n.fail("layer '{}' (repeat_vector): {} steps of {} features make more than {} elements", c.info.name, steps, xs[1],
           kMaxElements);
  ValueId one = c.op("reshape", {c.in()}, {{"shape", std::vector<int64_t>{xs[0], 1, xs[1]}}}, "one_step");
  return c.op("broadcast_to", {one}, {{"shape", std::vector<int64_t>{xs[0], steps, xs[1]}}}, "repeated");
}

} // namespace

std::vector<LayerDef> recurrent_layers() {
  std::vector<std::string> common = {"units",        "activation",         "return_sequences",      "go_backwards",
                                     "return_state", "use_bias",           "kernel_initializer",
                                     "recurrent_initializer",             "bias_initializer", "stateful"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> k = common;
    k.insert(k.end(), extra.begin(), extra.end());
    return k;
  };
  return {
      recurrent_layer("simple_rnn", common, 2),
      recurrent_layer("lstm", with({"recurrent_activation", "unit_forget_bias", "peephole"}), 3),
      recurrent_layer("gru", with({"recurrent_activation", "reset_after"}), 2),
      bidirectional_layer(),
      {"time_distributed", {"layer"}, 1, 1, build_time_distributed},
      {"repeat_vector", {"n"}, 1, 1, build_repeat_vector},
      {"masking", {"mask_value"}, 1, 1, build_masking},
  };
}

} // namespace dlc::frontend
