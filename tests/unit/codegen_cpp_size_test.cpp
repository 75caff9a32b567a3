// The size of the emitted C++ (issue #17's target: net.cpp does not grow with a recurrent
// layer's steps T, nor with the batch through its constants). The loop is one `for (t ...)` whatever T is, and a
// constant whose elements are all one value -- an LSTM's zero initial states [batch,
// units] -- is kept once and filled when the context is created (ConstantInfo::splat).
// That the fill gives the right values is what every recurrent parity test of the
// emitted code relies on (codegen_cpp_parity_test.cpp, codegen_jit_cpp_parity_test.cpp).
#include "codegen_cpp_helpers.h"

#include <algorithm>

namespace dlc::test_cpp {

TEST_CASE("net.cpp of a recurrent model: the same lines at T = 12 and T = 1,000, batch 2 and 64") {
  auto lines_of = [](int steps, int batch) {
    frontend::Model m = frontend::load_model_text(
        fmt::format(R"({{"name": "t", "input_shape": [{}], "layers": [
            {{"type": "embedding", "input_dim": 64, "output_dim": 32}}, {{"type": "lstm", "units": 128}},
            {{"type": "dense", "units": 2, "activation": "softmax"}}],
            "loss": "sparse_categorical_crossentropy", "optimizer": "adam"}})",
                    steps),
        "t.json");
    codegen::CppOptions o;
    o.train = true;
    o.batch = batch;
    o.name = "net";
    codegen::CppFiles f = pipeline::emit_cpp(m, nullptr, o);
    CHECK(f.source.find("true}, // lstm_1.h0") != std::string::npos); // the zero state, kept once
    return std::count(f.source.begin(), f.source.end(), '\n');
  };
  // (A larger batch splits more loops across threads: a few lines more, not per sample.)
  for (int batch : {2, 64}) {
    CAPTURE(batch);
    auto short_seq = lines_of(12, batch);
    CHECK(lines_of(1000, batch) == short_seq);
    CHECK(short_seq < 1200);
  }
}

} // namespace dlc::test_cpp
