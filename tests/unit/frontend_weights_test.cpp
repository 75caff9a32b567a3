// Loading weights by name (frontend/weights.h, issue #19's transfer learning): a training
// checkpoint's optimizer state is skipped in strict mode; a pre-trained base under a new
// head loads partially, with a report of what was loaded, initialised and ignored.
#include "error_of.h"
#include "frontend/weights.h"
#include "passes/training.h"
#include "runtime/safetensors.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace dlc;

namespace {

frontend::Model two_layers(int head_units, bool extra) {
  std::string layers = R"({"type": "dense", "name": "base", "units": 4, "activation": "relu"},
      {"type": "dense", "name": "head", "units": )" + std::to_string(head_units) + "}";
  if (extra) layers += R"(, {"type": "dense", "name": "head2", "units": 2})";
  return frontend::load_model_text(R"({"input_shape": [3], "layers": [)" + layers +
                                       R"(], "loss": "mse", "optimizer": {"type": "adam", "lr": 0.1}})",
                                   "m.json");
}

} // namespace

TEST_CASE("weights: a training checkpoint loads strictly, its optimizer state skipped") {
  std::string path = (std::filesystem::temp_directory_path() / ("dlc_w_" + std::to_string(getpid()) + ".safetensors")).string();
  frontend::Model m = two_layers(3, false);
  auto tg = passes::build_training_graph(frontend::build_model(m, 2).graph, m.training);
  ir::Bindings values = ir::init_params(tg.graph, 4);
  for (ir::ValueId s : tg.graph.states()) values[tg.graph.value(s).name] = ir::Tensor(tg.graph.type(s));
  frontend::save_weights(path, tg.graph, values, true);
  frontend::WeightsReport r;
  ir::Bindings w = frontend::load_weights(path, frontend::build_model(m, 1).graph, false, &r);
  CHECK(r.loaded == std::vector<std::string>{"base.kernel", "base.bias", "head.kernel", "head.bias"});
  CHECK(r.optimizer_state == 9); // m and v of 4 parameters, opt.step
  CHECK(r.missing.empty());
  CHECK(w.at("head.kernel").data == values.at("head.kernel").data);
  CHECK(r.text() == "loaded 4 tensors; skipped 9 optimizer-state tensors");

  // A new head (3 -> 5 units) and a layer the file lacks: strict refuses, partial loads the
  // base and initialises the rest.
  frontend::Model bigger = two_layers(5, true);
  ir::Graph g = frontend::build_model(bigger, 1).graph;
  CHECK(error_of([&] { frontend::load_weights(path, g); }) ==
        path + ": tensor 'head.kernel' has shape [4,3], the model's parameter is [4,5]");
  frontend::WeightsReport p;
  ir::Bindings pw = frontend::load_weights(path, g, true, &p);
  CHECK(p.loaded == std::vector<std::string>{"base.kernel", "base.bias"});
  CHECK(p.missing == std::vector<std::string>{"head.kernel", "head.bias", "head2.kernel", "head2.bias"});
  CHECK(pw.size() == 2);
  CHECK(p.text() == "loaded 2 tensors; initialised 4 from the seed: head.kernel, head.bias, head2.kernel, "
                    "head2.bias; ignored 2: head.kernel (shape [4,3], the model's is [4,5]), head.bias (shape [3], "
                    "the model's is [5]); skipped 9 optimizer-state tensors");

  // A tensor of no parameter: an error in strict mode (with the nearest name), ignored in
  // partial mode.
  dlc_rt::TensorMap t;
  t["base.kernel"] = dlc_rt::Array{{3, 4}, std::vector<float>(12, 0.5f), "F32"};
  t["base.kernal"] = dlc_rt::Array{{1}, {1.0f}, "F32"};
  std::string bytes = dlc_rt::safetensors_bytes(t, {});
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  frontend::Model base_only = frontend::load_model_text(
      R"({"input_shape": [3], "layers": [{"type": "dense", "name": "base", "units": 4, "use_bias": false}]})", "b.json");
  CHECK(error_of([&] { frontend::load_weights(path, frontend::build_model(base_only, 1).graph); })
            .find("tensor 'base.kernal' matches no parameter of the model, did you mean 'base.kernel'?") !=
        std::string::npos);
  frontend::WeightsReport q;
  frontend::load_weights(path, frontend::build_model(base_only, 1).graph, true, &q);
  CHECK(q.text() == "loaded 1 tensor; ignored 1: base.kernal (no such parameter)");
  std::filesystem::remove(path);
}
