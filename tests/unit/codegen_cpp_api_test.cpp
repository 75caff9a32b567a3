// The emitted API: from C (net.h is valid C), two contexts side by side, bad arguments,
// parameters by name, checkpoints that resume a run exactly, embedded and external
// weights, and the files `dlc compile` writes.
#include "codegen_cpp_helpers.h"

#include "frontend/weights.h"

namespace dlc::test_cpp {

TEST_CASE("emitted API from C: contexts, errors, parameters, checkpoints, learning rate, no allocation") {
  frontend::Model m = frontend::load_model(example("xo"));
  codegen::CppOptions o;
  o.train = true;
  o.batch = 4;
  Build b = build(m, o, "g++", "-O1", "api");
  std::string log;
  std::string cc = "gcc -std=c11 -Wall -Wextra -Werror -pedantic -c '" + std::string(DLC_SOURCE_DIR) +
                   "/tests/fixtures/codegen/api_check.c' -I '" + b.dir.string() + "' -o '" + (b.dir / "api.o").string() +
                   "' && g++ -std=c++17 -O1 -c '" + (b.dir / "net.cpp").string() + "' -o '" + (b.dir / "net.o").string() +
                   "' && g++ '" + (b.dir / "api.o").string() + "' '" + (b.dir / "net.o").string() + "' -o '" +
                   (b.dir / "api").string() + "'";
  int rc = shell(cc, log, b.dir);
  INFO(cc, "\n", log.substr(0, 4000));
  REQUIRE(rc == 0);
  rc = shell("'" + (b.dir / "api").string() + "' '" + b.dir.string() + "'", log, b.dir);
  INFO(log);
  CHECK(rc == 0);
  CHECK(log == "ok\n");

  // No allocation inside infer or train_step: the driver counts operator new.
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, 4).graph, m.training);
  write_floats(b.dir / "x.bin", random_floats(4 * input_size(tg.graph), 6));
  write_floats(b.dir / "t.bin", targets(tg, 4, 4));
  rc = shell("cd '" + b.dir.string() + "' && ./driver allocs 1 4 x.bin t.bin", log, b.dir);
  CHECK(rc == 0);
  CHECK(log == "0\n");
  fs::remove_all(b.dir);
}

TEST_CASE("emitted weights: embedded in the source, or loaded from safetensors") {
  frontend::Model m = frontend::load_model(example("xo"));
  ir::Graph g = frontend::build_model(m, 1).graph;
  ir::Bindings weights = ir::init_params(g, 11);
  codegen::CppOptions o;
  o.batch = 4;
  Build embedded = build(m, o, "g++", "-O0", "embedded", &weights);
  check_inference(m, embedded, 4, "embedded", 11);
  CHECK(read_text(embedded.dir / "net.cpp").find("kWeights[] = {\n    // conv2d_1.kernel") != std::string::npos);

  o.extern_weights = true;
  Build external = build(m, o, "g++", "-O0", "external", &weights);
  fs::path w = external.dir / "w.safetensors";
  frontend::save_weights(w.string(), g, weights, false);
  check_inference(m, external, 4, "load:" + w.string(), 11);
  CHECK(read_text(external.dir / "net.cpp").find("// conv2d_1.kernel") == std::string::npos);
  fs::remove_all(embedded.dir);
  fs::remove_all(external.dir);
}

TEST_CASE("an emitted checkpoint resumes training exactly, dropout masks included") {
  frontend::Model m = frontend::load_model_text(R"({"name": "drop", "input_shape": [5], "layers": [
      {"type": "dense", "units": 7, "activation": "relu"}, {"type": "dropout", "rate": 0.5},
      {"type": "dense", "units": 3, "activation": "softmax"}],
    "loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 4})", "drop.json");
  codegen::CppOptions o;
  o.train = true;
  Build b = build(m, o, "g++", "-O1", "resume");
  int steps = 4;
  passes::TrainingGraph tg = passes::build_training_graph(frontend::build_model(m, 4).graph, m.training);
  write_floats(b.dir / "x.bin", random_floats(2 * steps * 4 * 5, 5));
  write_floats(b.dir / "t.bin", targets(tg, 2 * steps * 4, 4));
  run(b, fmt::format("train {} 4 {} x.bin t.bin straight.bin p.bin", kSeed, 2 * steps));
  run(b, fmt::format("resume {} 4 {} x.bin t.bin resumed.bin ckpt.safetensors", kSeed, steps));
  std::vector<float> straight = read_floats(b.dir / "straight.bin"), resumed = read_floats(b.dir / "resumed.bin");
  REQUIRE(straight.size() == size_t(2 * steps));
  CHECK(straight == resumed);
  // dlc eval --weights and dlc train --weights read the emitted checkpoint: its parameters
  // load by name, its optimizer state (Adam's moments, opt.step) is skipped and counted.
  frontend::WeightsReport report;
  ir::Bindings w = frontend::load_weights((b.dir / "ckpt.safetensors").string(), frontend::build_model(m, 1).graph,
                                          false, &report);
  CHECK(report.loaded == std::vector<std::string>{"dense_1.kernel", "dense_1.bias", "dense_2.kernel", "dense_2.bias"});
  CHECK(report.optimizer_state == 9);
  CHECK(w.at("dense_2.bias").numel() == 3);
  fs::remove_all(b.dir);
}

// tests/sanitize/emitted.sh runs the same program under ThreadSanitizer and
// AddressSanitizer for every example; here it checks the values in a plain build.
TEST_CASE("two contexts on two threads compute what each computes alone, before and after one is destroyed") {
  frontend::Model m = frontend::load_model(example("xo"));
  codegen::CppOptions o;
  o.train = true;
  o.batch = 4;
  fs::path dir = work_dir("threads");
  emit_files(dir, m, o);
  std::string log;
  std::string cmd = "g++ -std=c++17 -O1 -Wall -Wextra -Werror -pthread -I '" + dir.string() + "' '" + DLC_SOURCE_DIR +
                    "/tests/fixtures/codegen/threads_check.cpp' '" + (dir / "net.cpp").string() + "' -o '" +
                    (dir / "threads").string() + "' && '" + (dir / "threads").string() + "'";
  int rc = shell(cmd, log, dir);
  INFO(cmd, "\n", log.substr(0, 4000));
  CHECK(rc == 0);
  CHECK(log == "ok\n");
  fs::remove_all(dir);
}

// The emitted files are C++17 and build as C++20 and C++23 too, with both compilers: a
// model with two inputs and outputs (the API), and the main() of --emit-main.
TEST_CASE("emitted C++ compiles warning-free as C++17, C++20 and C++23 with g++ and clang++") {
  for (const char* name : {"two_inputs_two_outputs", "xo"}) {
    frontend::Model m = frontend::load_model(example(name));
    codegen::CppOptions o;
    o.train = true;
    o.emit_main = std::string(name) == "xo";
    fs::path dir = work_dir(std::string("standards_") + name);
    emit_files(dir, m, o);
    for (const char* cxx : {"g++", "clang++-19"})
      for (const char* std : {"c++17", "c++20", "c++23"}) {
        std::string log;
        std::string cmd = std::string(cxx) + " -std=" + std + " -fsyntax-only -Wall -Wextra -Werror '" +
                          (dir / "net.cpp").string() + "'";
        int rc = shell(cmd, log, dir);
        INFO(cmd, "\n", log.substr(0, 4000));
        CHECK(rc == 0);
      }
    fs::remove_all(dir);
  }
}

// --emit-main reads one input file and one target file: a model with more is refused when
// it is compiled (it used to read past the one input file's samples).
TEST_CASE("emitted C++: --emit-main refuses a model with two inputs") {
  frontend::Model m = frontend::load_model(example("two_inputs_two_outputs"));
  codegen::CppOptions o;
  o.train = true;
  o.emit_main = true;
  fs::path dir = work_dir("emit_main_two_inputs");
  CHECK_THROWS_WITH_AS(emit_files(dir, m, o),
                       doctest::Contains("--emit-main: the generated main() reads one input and one target file; this "
                                         "model has 2 inputs and 1 losses (call net_train_step_io and net_infer_io"),
                       Error);
  fs::remove_all(dir);
}

} // namespace dlc::test_cpp
