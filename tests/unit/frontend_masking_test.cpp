// Masking (docs/recurrent.md): embedding's mask_zero and the masking layer mark padded
// steps; recurrent layers carry their state through them, losses and metrics leave them
// out. Values by hand, the padded sequence against the same layer on the unpadded one
// (the definition of "handled correctly"), the loss against a mean over the real steps
// computed here from the model's outputs, gradient checks, the JIT against the
// interpreter, bad input.
#include "gradcheck_helpers.h"
#include "error_of.h"
#include "frontend/model.h"
#include "ir/verifier.h"
#include "ir/interp/interpreter.h"
#include "passes/gradcheck.h"
#include "passes/train_step.h"
#include "passes/training.h"
#include "pipeline/metrics.h"
#include "pipeline/runner.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace dlc;
using ir::Shape;

namespace {

frontend::Model model_of(const std::string& json) { return frontend::load_model_text(json, "model.json"); }

ir::Tensor f32(Shape s, std::vector<double> v) { return ir::Tensor(ir::TensorType{ir::DType::f32, std::move(s)}, std::move(v)); }

std::string load_error(const std::string& json) {
  try {
    model_of(json);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The named output of g evaluated with b.
std::vector<double> output(const ir::Graph& g, const ir::Bindings& b, const std::string& name = "") {
  for (auto& [n, t] : ir::run_outputs(g, b, {}))
    if (name.empty() || n == name) return t.data;
  FAIL("no output ", name);
  return {};
}

// `text` with every "KEY" replaced by its value.
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& subs) {
  for (auto& [k, v] : subs)
    for (size_t at; (at = text.find(k)) != std::string::npos;) text.replace(at, k.size(), v);
  return text;
}

} // namespace

TEST_CASE("masking: a padded step keeps the state, by hand") {
  // x = [1, 0, 2]: step 2 is padding (all features equal mask_value 0). h1 = tanh(0.5*1 +
  // 0.1); h2 = h1 (kept, and the step's output is it); h3 = tanh(0.5*2 + 0.1 - 1*h2),
  // which is the unmasked layer's second step over [1, 2].
  auto m = model_of(R"({"input_shape": [3, 1], "layers": [{"type": "masking"},
      {"type": "simple_rnn", "units": 1, "return_sequences": true}]})");
  auto bm = frontend::build_model(m, 1);
  ir::Bindings b = {{"input", f32({1, 3, 1}, {1, 0, 2})},
                    {"simple_rnn_1.kernel", f32({1, 1}, {0.5})},
                    {"simple_rnn_1.recurrent_kernel", f32({1, 1}, {-1})},
                    {"simple_rnn_1.bias", f32({1}, {0.1})}};
  auto y = output(bm.graph, b);
  REQUIRE(y.size() == 3);
  CHECK(y[0] == doctest::Approx(0.5370495669980353).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(0.5370495669980353).epsilon(1e-6));
  CHECK(y[2] == doctest::Approx(0.5101632506598711).epsilon(1e-6));
  // The output carries the mask [1, 0, 1]; mask_value picks what counts as padding.
  CHECK(bm.graph.outputs()[0].mask != ir::kNoValue);
  auto m2 = model_of(R"({"input_shape": [3, 2], "layers": [{"type": "masking", "mask_value": -1}]})");
  auto bm2 = frontend::build_model(m2, 1);
  ir::Bindings b2 = {{"input", f32({1, 3, 2}, {-1, -1, -1, 0, 3, -1})}};
  auto env = ir::evaluate(bm2.graph, b2);
  CHECK(env[size_t(bm2.graph.outputs()[0].mask)].data == std::vector<double>{0, 1, 1});
  CHECK(env[size_t(bm2.graph.outputs()[0].value)].data == std::vector<double>{0, 0, -1, 0, 3, -1});
}

TEST_CASE("mask_zero: a padded sequence gives the unpadded sequence's result, every cell and direction") {
  // Post- and pre-padding with id 0 against the same layer (same parameters) over the
  // real ids alone: the final state, and the real steps' outputs, are the same -- also
  // for the backward direction, which meets the padding first.
  const char* text = R"({"input_shape": [T], "layers": [
      {"type": "embedding", "input_dim": 6, "output_dim": 3, "mask_zero": true},
      LAYER]})";
  for (std::string layer : {R"({"type": "lstm", "units": 2})", R"({"type": "gru", "units": 2, "go_backwards": true})",
                            R"({"type": "bidirectional", "layer": {"type": "lstm", "units": 2}})",
                            R"({"type": "bidirectional", "merge_mode": "sum", "layer": {"type": "simple_rnn", "units": 2, "go_backwards": true}})",
                            R"({"type": "bidirectional", "layer": {"type": "gru", "units": 2, "return_sequences": true}})"}) {
    CAPTURE(layer);
    bool sequences = layer.find("return_sequences") != std::string::npos;
    auto real = model_of(fill(text, {{"T", "3"}, {"LAYER", layer}}));
    auto padded = model_of(fill(text, {{"T", "5"}, {"LAYER", layer}}));
    auto rg = frontend::build_model(real, 1).graph, pg = frontend::build_model(padded, 1).graph;
    ir::Bindings params = ir::init_params(pg, 3);
    for (auto& [k, t] : params) // non-zero biases and peepholes, so that a padded step would show
      for (size_t i = 0; i < t.data.size(); i++) t.data[i] += 0.1 * double(i % 3);
    ir::Bindings rb = params, pb = params;
    rb["input"] = f32({1, 3}, {1, 2, 3});
    auto want = output(rg, rb);
    for (auto [ids, first] : {std::pair<std::vector<double>, int>{{1, 2, 3, 0, 0}, 0}, {{0, 0, 1, 2, 3}, 2}}) {
      CAPTURE(first);
      pb["input"] = f32({1, 5}, ids);
      auto got = output(pg, pb);
      if (!sequences) {
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < want.size(); i++) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
        continue;
      }
      size_t per = want.size() / 3;
      for (size_t i = 0; i < want.size(); i++) CHECK(got[size_t(first) * per + i] == doctest::Approx(want[i]).epsilon(1e-6));
    }
  }
}

TEST_CASE("masked losses are the mean over the real steps, whatever the padded targets") {
  // Each loss against the same mean computed here from the model's outputs over the real
  // steps only; then padded steps' targets changed: same loss, same update.
  const char* text = R"({"input_shape": [3], "layers": [
      {"type": "embedding", "input_dim": 5, "output_dim": 2, "mask_zero": true},
      {"type": "simple_rnn", "units": 3, "return_sequences": true},
      {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "ACT"}}],
      "loss": "LOSS", "optimizer": {"type": "sgd", "lr": 0.5}})";
  struct Case {
    const char* loss;
    const char* act;
  };
  for (Case c : {Case{"sparse_categorical_crossentropy", "softmax"}, Case{"categorical_crossentropy", "softmax"},
                 Case{"categorical_crossentropy", "sigmoid"}, Case{"binary_crossentropy", "sigmoid"},
                 Case{"binary_crossentropy", "hard_sigmoid"}, Case{"mse", "linear"}}) {
    std::string loss = c.loss;
    CAPTURE(loss);
    CAPTURE(c.act);
    auto m = model_of(fill(text, {{"ACT", c.act}, {"LOSS", c.loss}}));
    auto tg = passes::build_loss_graph(frontend::build_model(m, 2).graph, m.training);
    CHECK(tg.mask != ir::kNoValue);
    ir::Bindings b = ir::init_params(tg.graph, 5);
    b["input"] = f32({2, 3}, {1, 2, 0, 3, 0, 0}); // real steps: (0,0), (0,1), (1,0)
    bool sparse = loss == "sparse_categorical_crossentropy";
    const ir::TensorType& tt = tg.graph.type(tg.targets.at(0));
    CHECK(tt.dtype == ir::DType::f32); // labels one-hot encoded in the graph
    std::vector<double> t = sparse ? std::vector<double>{0, 1, 1, 1, 0, 1}
                                   : std::vector<double>{1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1};
    if (loss == "mse") t = {0.5, -1, 2, 0.25, 7, 7, 1, -0.5, 7, 7, 7, 7};
    b["target"] = ir::Tensor(tt, t);
    auto env = ir::evaluate(tg.graph, b);
    const auto& p = env[size_t(tg.graph.outputs()[0].value)].data;
    double sum = 0;
    int count = 0;
    for (int pos : {0, 1, 3}) { // sample * 3 + step
      double y0 = sparse ? double(t[size_t(pos)] == 0) : t[size_t(2 * pos)];
      double y1 = sparse ? double(t[size_t(pos)] == 1) : t[size_t(2 * pos + 1)];
      double p0 = p[size_t(2 * pos)], p1 = p[size_t(2 * pos + 1)];
      if (loss == "mse") sum += ((p0 - y0) * (p0 - y0) + (p1 - y1) * (p1 - y1)) / 2;
      else if (loss == "binary_crossentropy")
        sum -= (y0 * std::log(p0) + (1 - y0) * std::log(1 - p0) + y1 * std::log(p1) + (1 - y1) * std::log(1 - p1)) / 2;
      else sum -= y0 * std::log(p0 / (p0 + p1)) + y1 * std::log(p1 / (p0 + p1));
      count++;
    }
    double loss_value = env[size_t(tg.loss)][0];
    CHECK(loss_value == doctest::Approx(sum / count).epsilon(1e-5));
    CHECK(env[size_t(tg.mask)].data == std::vector<double>{1, 1, 0, 1, 0, 0});

    // Other targets at the padded steps: the same loss and the same SGD step.
    auto train = passes::build_training_graph(frontend::build_model(m, 2).graph, m.training);
    auto step_with = [&](std::vector<double> target) {
      passes::TrainState st = passes::init_train_state(train, 5);
      ir::Bindings batch = st.values;
      batch["input"] = b["input"];
      batch["target"] = ir::Tensor(train.graph.type(train.targets.at(0)), target);
      batch["lr"] = f32({}, {0.5});
      double l = passes::train_step(train, m.training.optimizer, st, batch);
      return std::make_pair(l, st.values);
    };
    std::vector<double> other = t;
    size_t per = sparse ? 1 : 2;
    for (int pos : {2, 4, 5})
      for (size_t j = 0; j < per; j++) other[size_t(pos) * per + j] = sparse ? 0.0 : 1.0 - other[size_t(pos) * per + j];
    if (loss == "mse")
      for (int pos : {2, 4, 5}) other[size_t(2 * pos)] = -3;
    auto [l1, v1] = step_with(t);
    auto [l2, v2] = step_with(other);
    CHECK(l1 == doctest::Approx(sum / count).epsilon(1e-5));
    CHECK(l1 == l2);
    for (auto& [k, v] : v1) CHECK(v.data == v2.at(k).data);
  }
}

TEST_CASE("gradcheck: masked lstm, gru, bidirectional, masking layer and per-step losses") {
  // Random ids in [0, 3): about a third of the steps are padding.
  for (const char* text : {
           R"({"input_shape": [4], "layers": [
               {"type": "embedding", "input_dim": 3, "output_dim": 2, "mask_zero": true},
               {"type": "lstm", "units": 3, "return_sequences": true, "peephole": true},
               {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "softmax"}}],
               "loss": "sparse_categorical_crossentropy"})",
           R"({"input_shape": [4], "layers": [
               {"type": "embedding", "input_dim": 3, "output_dim": 2, "mask_zero": true},
               {"type": "bidirectional", "layer": {"type": "gru", "units": 2, "return_sequences": true}},
               {"type": "dropout", "rate": 0.0},
               {"type": "simple_rnn", "units": 2, "go_backwards": true},
               {"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy"})",
           R"({"input_shape": [4], "layers": [
               {"type": "embedding", "input_dim": 3, "output_dim": 2, "mask_zero": true},
               {"type": "gru", "units": 2, "return_sequences": true, "go_backwards": true},
               {"type": "dense", "units": 2}], "loss": "mse"})",
           R"({"input_shape": [4, 2], "layers": [
               {"type": "activation", "activation": "relu"},
               {"type": "masking"},
               {"type": "lstm", "units": 2, "return_sequences": true},
               {"type": "time_distributed", "layer": {"type": "dense", "units": 1, "activation": "sigmoid"}}],
               "loss": "binary_crossentropy"})"}) {
    auto m = model_of(text);
    passes::GradCheckOptions opt;
    auto r = passes::check_model_gradients(frontend::build_model(m, 2).graph, m.training, opt);
    check_gradients_agree(r);
  }
}

TEST_CASE("masked metrics count the real steps only") {
  // Two samples of 3 steps, 2 classes; sample 0's step 2 and sample 1's steps 1-2 padded.
  pipeline::MetricTask task{6, 3, true, 3};
  pipeline::Metrics acc({{"accuracy", 5, ""}}, task);
  std::vector<float> out = {0.9f, 0.1f, 0.2f, 0.8f, 0.9f, 0.1f, 0.3f, 0.7f, 0.9f, 0.1f, 0.9f, 0.1f};
  std::vector<float> labels = {0, 0, 1, 1, 1, 1}; // hits: yes, no, (no), yes, (no), (no)
  std::vector<float> mask = {1, 1, 0, 1, 0, 0};
  acc.add(out.data(), labels.data(), 2, mask.data());
  CHECK(acc.values()[0] == doctest::Approx(2.0 / 3));
  pipeline::Metrics all({{"accuracy", 5, ""}}, task);
  all.add(out.data(), labels.data(), 2);
  CHECK(all.values()[0] == doctest::Approx(2.0 / 6));
  // Values per step (mse over [T, 2] outputs): the padded steps' errors are left out.
  pipeline::Metrics mse({{"mse", 5, ""}}, pipeline::MetricTask{6, 1, false, 3});
  std::vector<float> t = {0.9f, 0.1f, 0.2f, 0.8f, 5, 5, 0.3f, 0.7f, 5, 5, 5, 5};
  mse.add(out.data(), t.data(), 2, mask.data());
  CHECK(mse.values()[0] == doctest::Approx(0.0));
}

TEST_CASE("masked training: the JIT's loss, mask and accuracy are the interpreter's") {
  auto m = model_of(R"({"input_shape": [5], "layers": [
      {"type": "embedding", "input_dim": 4, "output_dim": 3, "mask_zero": true},
      {"type": "bidirectional", "layer": {"type": "lstm", "units": 3, "return_sequences": true}},
      {"type": "time_distributed", "layer": {"type": "dense", "units": 3, "activation": "softmax"}}],
      "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "optimizer": {"type": "adam", "lr": 0.01}})");
  auto ref = pipeline::make_runner("ref", m, 4), jit = pipeline::make_runner("jit", m, 4);
  ref->init(1);
  jit->init(1);
  jit->set_values(ref->values());
  // 3 samples (a partial batch of the compiled 4), lengths 5, 2 and 1.
  std::vector<float> x = {1, 2, 3, 1, 2, 3, 1, 0, 0, 0, 2, 0, 0, 0, 0};
  std::vector<float> t = {0, 1, 2, 0, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0};
  std::vector<float> want_mask = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  for (int step = 0; step < 3; step++) {
    std::vector<float> ro(45), jo(45);
    double rl = ref->train_step(x.data(), t.data(), 3, 0.01, step, ro.data());
    double jl = jit->train_step(x.data(), t.data(), 3, 0.01, step, jo.data());
    CHECK(jl == doctest::Approx(rl).epsilon(1e-5));
    REQUIRE(ref->last_mask() != nullptr);
    REQUIRE(jit->last_mask() != nullptr);
    CHECK(std::vector<float>(jit->last_mask(), jit->last_mask() + 15) == want_mask);
    CHECK(std::vector<float>(ref->last_mask(), ref->last_mask() + 15) == want_mask);
  }
  std::vector<float> out(45);
  double el = jit->evaluate(x.data(), t.data(), 3, out.data());
  CHECK(el == doctest::Approx(ref->evaluate(x.data(), t.data(), 3, nullptr)).epsilon(1e-5));
  pipeline::Metrics acc(m.training.metrics, pipeline::MetricTask{15, 5, true, 5});
  acc.add(out.data(), t.data(), 3, jit->last_mask());
  int hits = 0;
  for (int k = 0; k < 15; k++) {
    if (want_mask[size_t(k)] == 0) continue;
    const float* row = out.data() + 3 * k;
    hits += int(std::max_element(row, row + 3) - row) == int(t[size_t(k)]);
  }
  CHECK(acc.values()[0] == doctest::Approx(hits / 8.0));
  // A model without a mask reports none.
  auto plain = model_of(R"({"input_shape": [2], "layers": [{"type": "dense", "units": 2, "activation": "softmax"}],
      "loss": "sparse_categorical_crossentropy"})");
  auto pj = pipeline::make_runner("jit", plain, 2);
  pj->init(1);
  std::vector<float> px = {1, 2, 3, 4}, pt = {0, 1};
  pj->evaluate(px.data(), pt.data(), 2, nullptr);
  CHECK(pj->last_mask() == nullptr);
}

TEST_CASE("an output's mask must be f32 [batch, time] of that output (verifier)") {
  ir::Graph g;
  ir::ValueId x = g.add_input("x", ir::TensorType{ir::DType::f32, Shape{2, 3, 4}});
  ir::ValueId wrong = g.add_input("m", ir::TensorType{ir::DType::f32, Shape{2, 4}});
  g.add_output("y", x, wrong);
  CHECK(error_of([&] { ir::verify(g); }) == "output 'y' f32[2,3,4]: its mask must be f32[2,3] (batch, time), is f32[2,4]");
}

TEST_CASE("masking: bad input") {
  CHECK(load_error(R"({"input_shape": [4], "layers": [
      {"type": "embedding", "input_dim": 5, "output_dim": 2, "mask_zero": true},
      {"type": "flatten"}, {"type": "dense", "units": 1}]})") ==
        "model.json:3:7: layers[1]: layer 'flatten_1' (flatten) cannot take the mask that 'embedding_1' carries (from "
        "an embedding with mask_zero or a masking layer); a mask is consumed by simple_rnn, lstm, gru and "
        "bidirectional, and carried through layers that work step by step: dense, layer_normalization, dropout, "
        "gaussian_noise, gaussian_dropout, activation, add, concat, time_distributed");
  CHECK(load_error(R"({"input_shape": [4, 3], "layers": [{"type": "masking"}, {"type": "conv1d", "filters": 2, "kernel_size": 2}]})")
            .find("layer 'conv1d_1' (conv1d) cannot take the mask that 'masking_1' carries") != std::string::npos);
  CHECK(load_error(R"({"inputs": [{"name": "x", "shape": [4]}], "outputs": "c", "layers": [
      {"type": "embedding", "name": "e", "inputs": "x", "input_dim": 5, "output_dim": 2, "mask_zero": true},
      {"type": "concat", "name": "c", "inputs": ["e", "e"], "axis": 1}]})")
            .find("layer 'c' (concat) gives f32[1,8,2], which has no time axis of 4 steps for the mask that 'e' carries") !=
        std::string::npos);
  CHECK(load_error(R"({"input_shape": [2, 2], "layers": [{"type": "embedding", "input_dim": 5, "output_dim": 2, "mask_zero": true}]})")
            .find("mask_zero masks the steps of a sequence of token ids [batch, T], but its input is f32[1,2,2]") !=
        std::string::npos);
  CHECK(load_error(R"({"input_shape": [4], "layers": [{"type": "masking"}]})")
            .find("layer 'masking_1' (masking) needs a sequence input [batch, time, features...] of floats") !=
        std::string::npos);
  CHECK(load_error(R"({"input_shape": [4, 2], "layers": [{"type": "masking", "mask_value": "zero"}]})")
            .find("mask_value") != std::string::npos);
}
