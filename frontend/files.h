// Reading and writing files for the library: whole-file reads with clear errors, and
// atomic writes (temporary file, fsync, rename) so that a crash or a full disk never
// leaves a partial or damaged file behind.
#pragma once

#include <string>

namespace dlc::frontend {

std::string read_file(const std::string& path); // throws "path: cannot open file: reason"
void write_file_atomic(const std::string& path, const std::string& bytes);

} // namespace dlc::frontend
