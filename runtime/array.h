// A named n-dimensional f32 array: what the file readers return.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace dlc_rt {

// Thrown by the readers on a malformed or unsupported file; the message says what is wrong
// (the caller adds the file name).
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string dtype = "f32"; // the dtype stored in the file, before conversion to f32

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// The one conversion from a data file's values to a model's input values, shared by every
// reader of model input (dlc train, eval and predict, and the main() of `dlc compile
// --emit-main`), so that all of them see the same numbers: 8-bit images (u8) are divided by
// 255 into [0, 1]; an input that takes integers (token ids) keeps them as they are, and so
// does every other dtype.
inline void to_input_values(Array& a, bool integer_input) {
  if (a.dtype != "u8" || integer_input) return;
  for (float& v : a.data) v /= 255.0f;
}

// Element count of a shape, or -1 when an extent is negative or the count overflows.
inline int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) {
    if (d < 0 || (d > 0 && n > (int64_t(1) << 40) / d)) return -1;
    n *= d;
  }
  return n;
}

} // namespace dlc_rt
