// Fuzzes what `dlc check MODEL.onnx` does with an ONNX file: parse it with Debian's ONNX
// protobuf classes and translate it (dlc::frontend::onnx_to_dlc), then read the dlc model
// JSON it wrote and build the graph at batch 1. The corpus holds the small fixtures of
// tests/fixtures/onnx/ (PyTorch's exports). The only allowed exception is dlc::Error;
// anything else, a crash, undefined behaviour, a leak or a hang is a finding. Inputs over
// 64 KB are skipped to keep every run's time bounded.
#include "frontend/model.h"
#include "frontend/onnx_import.h"
#include "fuzz/fuzz_common.h"
#include "ir/error.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    dlc::frontend::OnnxModel o = dlc::frontend::onnx_to_dlc(bytes, "fuzz.onnx");
    dlc::frontend::Model m = dlc::frontend::load_model_text(o.json, "fuzz.onnx");
    dlc::frontend::BuiltModel bm = dlc::frontend::build_model(m, 1);
    for (dlc::ir::ValueId p : bm.graph.params())
      if (!o.weights.count(bm.graph.value(p).name)) dlc_fuzz::unexpected_exception(); // a parameter without its value
  } catch (const dlc::Error&) {
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  return 0;
}
