// Recurrent layers against PyTorch: torch.nn.LSTM (dlc lstm) and a tanh torch.nn.RNN (dlc
// simple_rnn), each + Linear + cross-entropy, forward and one SGD step, from the
// committed fixture tests/fixtures/rnn/torch_rnn.h (its script explains the layout and
// bias conventions). The interpreter computes in f32 storage; PyTorch's numbers are
// double.
#include "frontend/model.h"
#include "ir/interp/interpreter.h"
#include "passes/train_step.h"
#include "passes/training.h"
#include "tests/fixtures/rnn/torch_rnn.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

using namespace dlc;
namespace fx = torch_rnn_fixture;

namespace {

ir::Tensor f32(const ir::Graph& g, const std::string& name, const std::vector<double>& v) {
  return ir::Tensor(g.type(g.find(name)), v);
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    INFO(what, "[", i, "]");
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5).scale(1));
  }
}

// A layer "rnn" of `type` (4 units) over 5 steps of 3 features, then a dense softmax "out".
void check_case(const std::string& type, const fx::Case& c) {
  CAPTURE(type);
  std::string model = fmt::format(R"({{"input_shape": [5, 3], "layers": [
      {{"type": "{}", "name": "rnn", "units": 4}},
      {{"type": "dense", "name": "out", "units": 2, "activation": "softmax"}}],
    "loss": "sparse_categorical_crossentropy", "optimizer": {{"type": "sgd", "lr": {}}}}})",
                                  type, fx::kLr);
  frontend::Model m = frontend::load_model_text(model, "torch.json");
  ir::Graph fwd = frontend::build_model(m, 2).graph;
  ir::Bindings b;
  for (auto& [name, v] : c.params) b[name] = f32(fwd, name, v);
  b["input"] = f32(fwd, "input", c.x);
  check_close(ir::run_outputs(fwd, b, {})[0].second.data, c.probs, "probabilities");

  passes::TrainingGraph tg = passes::build_training_graph(fwd, m.training);
  passes::TrainState st = passes::init_train_state(tg, 1);
  for (auto& [name, v] : c.params) st.values[name] = f32(tg.graph, name, v);
  ir::Bindings batch = {{"input", b["input"]}, {"target", ir::Tensor(tg.graph.type(tg.targets.at(0)), c.labels)}};
  double loss = passes::train_step(tg, m.training.optimizer, st, batch);
  CHECK(loss == doctest::Approx(c.loss).epsilon(1e-5));
  for (auto& [name, v] : c.params_after_step) check_close(st.values.at(name).data, v, name + " after one step");
}

} // namespace

TEST_CASE("lstm matches torch.nn.LSTM: forward probabilities, loss and one SGD step") { check_case("lstm", fx::kLstm); }

TEST_CASE("simple_rnn matches torch.nn.RNN (tanh): forward probabilities, loss and one SGD step") {
  check_case("simple_rnn", fx::kRnn);
}
