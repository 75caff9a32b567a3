// The interpreter behind the Runner interface: training steps change parameters and
// lower the loss, evaluate changes nothing, partial batches work, bad n is an error.
#include "pipeline/runner.h"
#include "ir/error.h"

#include <doctest/doctest.h>

using namespace dlc;

static const char* kModel = R"({
  "input_shape": [2],
  "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
             {"type": "dense", "units": 2, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": {"type": "sgd", "lr": 0.5},
  "batch_size": 4
})";

TEST_CASE("the reference runner trains, evaluates and infers") {
  frontend::Model m = frontend::load_model_text(kModel, "model.json");
  auto r = pipeline::make_ref_runner(m, 4);
  CHECK(r->backend() == "ref");
  CHECK(r->target_types().at(0).str() == "f32[4,2]");
  r->init(7);
  // XOR-like: class 1 when the signs differ.
  float x[8] = {1, 1, -1, -1, 1, -1, -1, 1};
  float y[8] = {1, 0, 1, 0, 0, 1, 0, 1};
  float out[8];
  ir::Bindings before = r->values();
  double first = r->evaluate(x, y, 4, out);
  CHECK(r->values().at("dense_1.kernel").data == before.at("dense_1.kernel").data);
  double loss = 0;
  for (int step = 0; step < 200; step++) loss = r->train_step(x, y, 4, 0.5, step, out);
  CHECK(r->values().at("dense_1.kernel").data != before.at("dense_1.kernel").data);
  CHECK(loss < first / 4);
  for (int i = 0; i < 4; i++) {
    bool predicted_one = out[2 * i + 1] > 0.5f, is_one = y[2 * i + 1] == 1.0f;
    CHECK(predicted_one == is_one);
  }
  float one[2];
  r->infer(x + 4, one, 1); // a partial batch of one sample
  CHECK(one[1] > 0.5f);
  CHECK_THROWS_AS(r->infer(x, one, 5), Error);
}
