// Reading and writing files for the library (runtime/files.h with dlc::Error): whole-file
// reads of regular files only, with clear errors, and atomic, durable writes (temporary
// file, fsync, rename, fsync of the directory) so that a crash or a full disk never
// leaves a partial or damaged file behind.
#pragma once

#include <string>

namespace dlc::frontend {

std::string read_file(const std::string& path); // throws "path: cannot open file: reason", "path: not a regular file ..."
// Also removes the temporaries of `path` that killed processes left behind.
void write_file_atomic(const std::string& path, const std::string& bytes);

} // namespace dlc::frontend
