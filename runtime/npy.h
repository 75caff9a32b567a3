// NumPy .npy files (format versions 1-3): read f32, f64, u8, i8, i32, i64 and bool
// arrays (little-endian, C order) into f32; write f32.
#pragma once

#include "runtime/array.h"
#include "runtime/files.h" // read_file_bytes

#include <cstring>

namespace dlc_rt {

namespace npy_detail {

inline std::string dict_value(const std::string& header, const std::string& key) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) throw FormatError("npy header has no '" + key + "'");
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) throw FormatError("npy header is malformed");
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos) throw FormatError("npy header is malformed");
  size_t end;
  if (header[start] == '(') end = header.find(')', start) + 1;
  else if (header[start] == '\'') end = header.find('\'', start + 1) + 1;
  else end = header.find_first_of(",}", start);
  if (end == std::string::npos || end == 0) throw FormatError("npy header is malformed");
  return header.substr(start, end - start);
}

inline std::vector<int64_t> parse_shape(const std::string& tuple) {
  std::vector<int64_t> shape;
  std::string num;
  for (char c : tuple) {
    if (c >= '0' && c <= '9') {
      num += c;
      if (num.size() > 12) throw FormatError("npy shape extent is too large");
    } else if (c == ',' || c == ')') {
      if (!num.empty()) shape.push_back(std::stoll(num));
      num.clear();
    } else if (c != '(' && c != ' ' && c != 'L') {
      throw FormatError("npy shape '" + tuple + "' is malformed");
    }
  }
  return shape;
}

template <typename T> void convert(const char* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; i++) {
    T v;
    std::memcpy(&v, src + i * int64_t(sizeof(T)), sizeof(T));
    dst[i] = float(v);
  }
}

} // namespace npy_detail

inline Array read_npy_bytes(const std::string& bytes) {
  using namespace npy_detail;
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw FormatError("not an .npy file (bad magic)");
  int major = uint8_t(bytes[6]);
  size_t header_len, pos;
  if (major == 1) {
    header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    pos = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw FormatError("truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; i++) header_len |= size_t(uint8_t(bytes[8 + size_t(i)])) << (8 * i);
    pos = 12;
  } else {
    throw FormatError("unsupported .npy version " + std::to_string(major));
  }
  if (pos + header_len > bytes.size()) throw FormatError("truncated .npy header");
  std::string header = bytes.substr(pos, header_len);
  pos += header_len;
  std::string descr = dict_value(header, "descr");
  if (dict_value(header, "fortran_order").rfind("True", 0) == 0)
    throw FormatError("Fortran-order arrays are not supported; save with C order");
  Array a;
  a.shape = parse_shape(dict_value(header, "shape"));
  int64_t n = checked_numel(a.shape);
  if (n < 0) throw FormatError("npy shape is too large");
  struct Kind {
    const char* descr;
    const char* name;
    int size;
    void (*conv)(const char*, int64_t, float*);
  };
  static const Kind kinds[] = {
      {"'<f4'", "f32", 4, npy_detail::convert<float>},   {"'<f8'", "f64", 8, npy_detail::convert<double>},
      {"'|u1'", "u8", 1, npy_detail::convert<uint8_t>},  {"'|i1'", "i8", 1, npy_detail::convert<int8_t>},
      {"'<i4'", "i32", 4, npy_detail::convert<int32_t>}, {"'<i8'", "i64", 8, npy_detail::convert<int64_t>},
      {"'|b1'", "bool", 1, npy_detail::convert<uint8_t>}};
  const Kind* kind = nullptr;
  for (auto& k : kinds)
    if (descr == k.descr) kind = &k;
  if (!kind)
    throw FormatError("unsupported npy dtype " + descr + " (use float32, float64, uint8, int32 or int64)");
  a.dtype = kind->name;
  if (bytes.size() - pos != size_t(n) * size_t(kind->size))
    throw FormatError(std::string(bytes.size() - pos < size_t(n) * size_t(kind->size) ? "truncated" : "overlong") +
                      " .npy data: shape " + shape_str(a.shape) + " needs " + std::to_string(n * kind->size) +
                      " bytes, the file has " + std::to_string(bytes.size() - pos));
  a.data.resize(size_t(n));
  kind->conv(bytes.data() + pos, n, a.data.data());
  return a;
}

inline Array read_npy(const std::string& path) { return read_npy_bytes(read_file_bytes(path)); }

inline std::string npy_bytes(const Array& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); i++) shape += std::to_string(a.shape[i]) + ",";
  if (a.shape.size() > 1) shape.pop_back();
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(header.size() & 0xFF);
  out += char(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size() * sizeof(float));
  return out;
}

} // namespace dlc_rt
