// bidirectional (Keras's Bidirectional): a simple_rnn, lstm or gru run over the sequence
// twice, forwards and backwards, with parameters of its own each ("<layer>.forward.kernel",
// "<layer>.backward.kernel"), the two results merged (docs/recurrent.md). The backward
// loop stacks step t's state at index t, which is where Keras puts it after re-reversing
// the backward layer's output, so the steps of both directions align with no copy.
#include "frontend/layers_recurrent.h"

#include <algorithm>

namespace dlc::frontend {

using ir::ValueId;

namespace {

const std::vector<std::string> kWrapped = {"simple_rnn", "lstm", "gru"};
const std::vector<std::string> kMergeModes = {"concat", "sum", "mul", "ave"};

// The wrapped layer: a simple_rnn, lstm or gru spec with its own members only (its name
// and inputs are the wrapper's).
const LayerDef& wrapped_layer(const JsonRef& inner) {
  inner.expect(json::Kind::Object);
  JsonRef type_ref = inner.require("type");
  std::string type = type_ref.as_string();
  if (std::find(kWrapped.begin(), kWrapped.end(), type) == kWrapped.end())
    type_ref.fail("bidirectional wraps a simple_rnn, lstm or gru layer, not '{}'", clip(type));
  const LayerDef& def = *find_layer(type);
  std::vector<std::string> keys = def.keys;
  keys.push_back("type");
  inner.expect_only(keys, "the layer wrapped by bidirectional");
  // Refused (Keras accepts it): the backward half ends each batch at its first step, so
  // the state it would carry is not where the next batch of a stream begins
  // (docs/recurrent.md, "State across batches").
  if (auto s = inner.get("stateful"); s && inner.get_bool("stateful", false))
    s->fail("a stateful layer cannot be wrapped by bidirectional: its backward half reads each batch from its last "
            "step, so no state carries from one batch to the next");
  return def;
}

std::string merge_mode(const JsonRef& spec) {
  auto r = spec.get("merge_mode");
  if (!r) return "concat";
  std::string m = r->as_string();
  if (std::find(kMergeModes.begin(), kMergeModes.end(), m) == kMergeModes.end()) {
    std::string hint = did_you_mean(m, kMergeModes);
    r->fail("unknown merge_mode '{}'{}", clip(m), hint.empty() ? "; use " + join_names(kMergeModes) : hint);
  }
  return m;
}

// One direction: the wrapped layer as "<layer>.<direction>" over the sequence, from the
// given initial states; its parameters are the wrapper's.
Recurrence direction(LayerCtx& c, const JsonRef& inner, const std::string& dir, bool backwards,
                     std::vector<Producer> inputs) {
  LayerInfo info;
  info.name = c.info.name + "." + dir;
  info.type = inner.require("type").as_string();
  LayerCtx ctx{c.g, inner, info, std::move(inputs)};
  Recurrence r = recurrence(ctx, backwards);
  c.info.params.insert(c.info.params.end(), info.params.begin(), info.params.end());
  c.info.activation = info.activation;
  return r;
}

// Keras's merge modes; "ave" is (forward + backward) / 2.
ValueId merge(LayerCtx& c, const std::string& mode, ValueId f, ValueId b) {
  if (mode == "concat") return c.op("concat", {f, b}, {{"axis", int64_t(c.g.type(f).shape.rank() - 1)}});
  if (mode == "mul") return c.op("mul", {f, b});
  ValueId sum = c.op("add", {f, b}, {}, "sum");
  return mode == "sum" ? sum : c.op("scale", {sum}, {{"scale", 0.5}}, "ave");
}

// The initial states given after the sequence: none, or the forward layer's then the
// backward layer's (Keras's order), `per` each.
std::pair<std::vector<Producer>, std::vector<Producer>> initial_states(LayerCtx& c, size_t per) {
  std::vector<Producer> f = {c.inputs[0]}, b = {c.inputs[0]};
  if (c.inputs.size() == 1) return {f, b};
  if (c.inputs.size() != 1 + 2 * per)
    c.spec.fail("layer '{}' (bidirectional) takes its initial states as {} inputs after the sequence (the forward "
                "layer's {}, then the backward layer's), got {}",
                c.info.name, 2 * per, per == 2 ? "h0 and c0" : "h0", c.inputs.size() - 1);
  f.insert(f.end(), c.inputs.begin() + 1, c.inputs.begin() + long(1 + per));
  b.insert(b.end(), c.inputs.begin() + long(1 + per), c.inputs.end());
  return {f, b};
}

// As Keras: the forward layer runs in the wrapped layer's direction, the backward one in
// the other; with return_sequences the merged steps are in input order (reversed when the
// wrapped layer itself goes backwards); with return_state the states are
// "<layer>.forward.h", ..., "<layer>.backward.c".
ValueId build_bidirectional(LayerCtx& c) {
  JsonRef inner = c.spec.require("layer");
  const LayerDef& def = wrapped_layer(inner);
  std::string mode = merge_mode(c.spec);
  auto [fs, bs] = initial_states(c, def.type == "lstm" ? 2 : 1);
  bool backwards = inner.get_bool("go_backwards", false);
  Recurrence f = direction(c, inner, "forward", backwards, fs);
  Recurrence b = direction(c, inner, "backward", !backwards, bs);
  if (inner.get_bool("return_state", false))
    for (auto [dir, r] : {std::pair<const char*, const Recurrence*>{"forward", &f}, {"backward", &b}})
      for (size_t i = 0; i < r->states.size(); i++)
        c.info.extra_outputs.push_back({std::string(dir) + "." + r->state_names[i], r->states[i]});
  c.mask_handled = true;
  if (f.sequence == ir::kNoValue) return merge(c, mode, f.states[0], b.states[0]);
  c.info.mask = sequence_mask(c, backwards);
  ValueId y = merge(c, mode, f.sequence, b.sequence);
  return backwards ? c.op("reverse", {y}, {{"axis", int64_t(1)}}, "reversed") : y;
}

} // namespace

LayerDef bidirectional_layer() { return {"bidirectional", {"layer", "merge_mode"}, 1, 5, build_bidirectional}; }

} // namespace dlc::frontend
