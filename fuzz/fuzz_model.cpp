// Fuzzes what `dlc check MODEL.json` does with a model file: parse and validate it
// (dlc::frontend::load_model_text, which builds the graph once at batch 1; a Keras model
// JSON is translated first: the corpus holds tests/fixtures/keras/), build the
// inference graph at batch 1 and print its types and parameter count. The only allowed
// exception is dlc::Error (a one-line user error); anything else, a crash, undefined
// behaviour, a leak or a hang is a finding. Inputs over 64 KB are skipped to keep every
// run's time bounded (model files are a few KB).
#include "frontend/model.h"
#include "fuzz/fuzz_common.h"
#include "ir/error.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    dlc::frontend::Model m = dlc::frontend::load_model_text(text, "fuzz.json");
    dlc::frontend::BuiltModel bm = dlc::frontend::build_model(m, 1);
    std::string summary = std::to_string(bm.graph.param_count());
    for (dlc::ir::ValueId v : bm.graph.inputs())
      summary += bm.graph.type(v).str();
    for (auto& o : bm.graph.outputs())
      summary += bm.graph.type(o.value).str();
  } catch (const dlc::Error&) {
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  return 0;
}
