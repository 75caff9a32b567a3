#include "frontend/files.h"

#include "ir/error.h"
#include "runtime/files.h"

#include <filesystem>

namespace dlc::frontend {

std::string read_file(const std::string& path) {
  try {
    return dlc_rt::read_file_bytes(path);
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  try {
    // A run killed during a write left its temporary behind (path.tmp.PID): remove those
    // whose process is gone, so that repeated kills do not fill the disk.
    std::filesystem::path p(path);
    dlc_rt::remove_stale_temporaries(p.parent_path().string(), p.filename().string());
    dlc_rt::write_file_durable(path, bytes);
  } catch (const dlc_rt::FormatError& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

} // namespace dlc::frontend
