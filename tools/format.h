// Small text formatting helpers for the tool's output.
#pragma once

#include <cstdint>
#include <string>

namespace dlc::tools {

std::string with_commas(int64_t n);  // 1234567 -> "1,234,567"
std::string human_bytes(int64_t b);  // 2621440 -> "2.50 MiB"

} // namespace dlc::tools
