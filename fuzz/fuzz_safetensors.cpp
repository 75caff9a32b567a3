// Fuzzes runtime/safetensors.h: dlc_rt::read_safetensors_bytes on arbitrary bytes must
// return tensors or throw dlc_rt::FormatError (it turns the JSON header's ParseError into
// one). What it returns must also survive the writer: safetensors_bytes() of the tensors
// and metadata read back gives the same names, shapes and f32 bits, and the same metadata
// but for the entries the writer adds itself (those an empty file written by it carries,
// such as its checksum). Any other exception, a mismatch, a crash, undefined behaviour, a
// leak or a hang is a finding.
#include "fuzz/fuzz_common.h"
#include "runtime/safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

bool same(const dlc_rt::TensorMap& a, const dlc_rt::TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || ia->second.shape != ib->second.shape ||
        ia->second.data.size() != ib->second.data.size() ||
        (!ia->second.data.empty() && std::memcmp(ia->second.data.data(), ib->second.data.data(),
                                                 ia->second.data.size() * sizeof(float)) != 0))
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  dlc_rt::TensorMap tensors;
  std::map<std::string, std::string> meta;
  try {
    tensors = dlc_rt::read_safetensors_bytes(bytes, &meta);
  } catch (const dlc_rt::FormatError&) {
    return 0;
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  try {
    static const std::map<std::string, std::string> own = [] {
      std::map<std::string, std::string> m;
      dlc_rt::read_safetensors_bytes(dlc_rt::safetensors_bytes({}, {}), &m);
      return m;
    }();
    std::map<std::string, std::string> meta2;
    dlc_rt::TensorMap again =
        dlc_rt::read_safetensors_bytes(dlc_rt::safetensors_bytes(tensors, meta), &meta2);
    std::map<std::string, std::string> expected = meta;
    for (auto& [k, v] : own) { // the writer's entries: present, with values that depend on the file
      auto it = meta2.find(k);
      expected[k] = it == meta2.end() ? v : it->second;
    }
    if (!same(tensors, again) || meta2 != expected)
      dlc_fuzz::fail("safetensors write/read round trip changed the data");
  } catch (const dlc_rt::FormatError& e) {
    dlc_fuzz::fail(std::string("safetensors_bytes wrote a file its reader rejects: ") + e.what());
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  return 0;
}
