// Fuzzes runtime/json.h, the JSON reader behind model files and safetensors headers:
// dlc_rt::json::parse on arbitrary bytes must return a value or throw
// dlc_rt::json::ParseError. Any other exception, a crash, undefined behaviour, a leak or
// a hang is a finding (memory safety comes from ASan/UBSan).
#include "fuzz/fuzz_common.h"
#include "runtime/json.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    dlc_rt::json::Value v = dlc_rt::json::parse(text);
    (void)v;
  } catch (const dlc_rt::json::ParseError&) {
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  return 0;
}
