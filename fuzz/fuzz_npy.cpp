// Fuzzes runtime/npy.h: dlc_rt::read_npy_bytes on arbitrary bytes must return an array
// or throw dlc_rt::FormatError. An array it returns must survive the writer: npy_bytes()
// read back gives the same shape and f32 bits. Any other exception, a mismatch, a crash,
// undefined behaviour, a leak or a hang is a finding.
#include "fuzz/fuzz_common.h"
#include "runtime/npy.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  dlc_rt::Array a;
  try {
    a = dlc_rt::read_npy_bytes(bytes);
  } catch (const dlc_rt::FormatError&) {
    return 0;
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  if (a.data.size() != size_t(a.numel()))
    dlc_fuzz::fail("npy: element count does not match the shape");
  try {
    dlc_rt::Array b = dlc_rt::read_npy_bytes(dlc_rt::npy_bytes(a));
    if (b.shape != a.shape || b.data.size() != a.data.size() ||
        (!a.data.empty() &&
         std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) != 0))
      dlc_fuzz::fail("npy write/read round trip changed the array");
  } catch (const dlc_rt::FormatError& e) {
    dlc_fuzz::fail(std::string("npy_bytes wrote a file its reader rejects: ") + e.what());
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  return 0;
}
