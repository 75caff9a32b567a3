// Fuzzes the training checkpoint loader, dlc::tools::load_checkpoint (tools/checkpoint.cpp):
// each input is written to a per-process temporary directory as checkpoint.safetensors and
// loaded for a tiny model (a 2 -> 3 dense layer: parameters dense_1.kernel [2,3] and
// dense_1.bias [3]) whose fingerprint is "fuzz" (the seeds carry it, so that mutations
// reach the metadata and tensor checks). The only allowed exception is dlc::Error (the
// loader reports damaged files with it); anything else, a crash, undefined behaviour (a
// metadata number that does not fit its integer, say), a leak or a hang is a finding.
//
// The reader verifies the "crc32" metadata entry (runtime/safetensors.h: the CRC-32 of the
// file with the entry's eight hex digits read as "00000000"). A mutation would almost never
// keep it right, so before writing the file the harness sets those digits to the checksum
// of the mutated bytes (when the header holds exactly one such entry, as the reader
// requires); fuzz_safetensors exercises the checksum verification itself.
#include "frontend/model.h"
#include "fuzz/fuzz_common.h"
#include "ir/error.h"
#include "tools/checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <zlib.h>

namespace {

const char* kModel = R"({"name": "fuzz", "input_shape": [2],
  "layers": [{"type": "dense", "units": 3, "activation": "softmax"}],
  "loss": "categorical_crossentropy", "optimizer": {"type": "sgd", "lr": 0.1}})";

struct Setup {
  std::string dir;
  dlc::ir::Bindings like; // the model's parameters, zeros
  Setup() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "dlc-fuzz-checkpoint-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) dlc_fuzz::fail("cannot create a temporary directory in " + tmpl);
    dir = tmpl;
    dlc::frontend::Model m = dlc::frontend::load_model_text(kModel, "fuzz-model.json");
    dlc::frontend::BuiltModel bm = dlc::frontend::build_model(m, 1);
    for (dlc::ir::ValueId id : bm.graph.params())
      like[bm.graph.value(id).name] = dlc::ir::Tensor(bm.graph.value(id).type);
  }
  ~Setup() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// `bytes` with its checksum entry made right, if it has one.
void fix_checksum(std::string& bytes) {
  if (bytes.size() < 8) return;
  uint64_t n = 0;
  for (int i = 0; i < 8; i++)
    n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  const size_t header_end = n > bytes.size() - 8 ? bytes.size() : size_t(8 + n);
  const std::string field = "\"crc32\":\"";
  size_t at = bytes.find(field, 8);
  if (at == std::string::npos || at >= header_end || bytes.find(field, at + 1) < header_end) return;
  at += field.size();
  if (at + 8 > header_end) return;
  bytes.replace(at, 8, "00000000");
  char digits[9];
  std::snprintf(digits, sizeof digits, "%08lx",
                crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size())));
  bytes.replace(at, 8, digits);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup setup;
  std::string path = setup.dir + "/checkpoint.safetensors";
  std::string bytes(reinterpret_cast<const char*>(data), size);
  fix_checksum(bytes);
  ::unlink(path.c_str()); // a new file: ext4 flushes a file truncated and rewritten on close
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, size, f) != size || std::fclose(f) != 0)
    dlc_fuzz::fail("cannot write " + path);
  try {
    dlc::tools::CheckpointInfo info;
    dlc::ir::Bindings values;
    dlc::tools::TrainState st;
    dlc::tools::load_checkpoint(setup.dir, "fuzz", setup.like, info, values, st);
    if (values.size() != setup.like.size())
      dlc_fuzz::fail("load_checkpoint returned without every parameter");
  } catch (const dlc::Error&) {
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  return 0;
}
