// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, into f32 arrays.
//
// Layout: two zero bytes, a dtype byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
// 0x0E f64), a rank byte, then `rank` big-endian u32 extents and the elements, big-endian,
// row-major. Gzip is recognised by its magic (1f 8b), whatever the file is called.
#pragma once

#include "runtime/array.h"
#include "runtime/inflate.h"
#include "runtime/files.h" // read_file_bytes

#include <cstring>
#include <string>
#include <vector>

namespace dlc_rt {

namespace idx_detail {

struct Kind {
  uint8_t code;
  const char* name;
  int size;
};

inline const Kind* find_kind(uint8_t code) {
  static const Kind kinds[] = {{0x08, "u8", 1},  {0x09, "i8", 1},  {0x0B, "i16", 2},
                               {0x0C, "i32", 4}, {0x0D, "f32", 4}, {0x0E, "f64", 8}};
  for (const auto& k : kinds)
    if (k.code == code) return &k;
  return nullptr;
}

inline uint64_t be(const uint8_t* p, int size) {
  uint64_t v = 0;
  for (int i = 0; i < size; i++) v = (v << 8) | p[i];
  return v;
}

inline float element(const uint8_t* p, uint8_t code) {
  switch (code) {
  case 0x08: return float(p[0]);
  case 0x09: return float(int8_t(p[0]));
  case 0x0B: return float(int16_t(uint16_t(be(p, 2))));
  case 0x0C: return float(int32_t(uint32_t(be(p, 4))));
  case 0x0D: {
    uint32_t bits = uint32_t(be(p, 4));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  default: {
    uint64_t bits = be(p, 8);
    double d;
    std::memcpy(&d, &bits, 8);
    return float(d);
  }
  }
}

// Converts n big-endian elements of type `Code` (compile-time, so the switch folds away).
template <uint8_t Code, int Size> void convert(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; i++) dst[i] = element(src + i * Size, Code);
}

inline std::string hex_byte(uint8_t b) {
  const char* hex = "0123456789abcdef";
  return std::string("0x") + hex[b >> 4] + hex[b & 15];
}

// "1234" bytes after a header, or "more" (0: the count is unknown, decoding stopped).
inline std::string have_text(uint64_t have, size_t header) {
  return have == 0 ? std::string("more") : std::to_string(have - header);
}

} // namespace idx_detail

// The header of IDX bytes: element kind, shape and the total size the file must have.
struct IdxHeader {
  const idx_detail::Kind* kind;
  std::vector<int64_t> shape;
  size_t header_bytes, total_bytes;
};

// Parses the header at the start of `bytes` (which may hold only a prefix of the file).
inline IdxHeader read_idx_header(const std::string& bytes) {
  using namespace idx_detail;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 4) throw FormatError("truncated IDX header (" + std::to_string(bytes.size()) + " bytes)");
  if (p[0] != 0 || p[1] != 0)
    throw FormatError("not an IDX file (bad magic: the first two bytes must be zero)");
  IdxHeader h;
  h.kind = find_kind(p[2]);
  if (!h.kind)
    throw FormatError("unsupported IDX element type " + hex_byte(p[2]) +
                      " (expected u8, i8, i16, i32, f32 or f64)");
  const size_t rank = p[3];
  h.header_bytes = 4 + 4 * rank;
  if (bytes.size() < h.header_bytes)
    throw FormatError("truncated IDX header: " + std::to_string(rank) + " dimensions need " +
                      std::to_string(h.header_bytes) + " bytes, the data has " + std::to_string(bytes.size()));
  for (size_t d = 0; d < rank; d++) h.shape.push_back(int64_t(be(p + 4 + 4 * d, 4)));
  const int64_t n = checked_numel(h.shape);
  if (n < 0) throw FormatError("IDX shape " + shape_str(h.shape) + " is too large");
  h.total_bytes = h.header_bytes + size_t(n) * size_t(h.kind->size);
  return h;
}

// Parses IDX bytes (gzip-compressed or not). `limit` bounds the decompressed size.
// Compressed data is inflated in two steps: the header first, then exactly the size its
// shape needs, so that a small file that inflates to gigabytes (a decompression bomb) is
// refused after the first byte too many, not when memory runs out.
inline Array read_idx_bytes(const std::string& file_bytes, uint64_t limit = kDefaultInflateLimit) {
  using namespace idx_detail;
  const bool gz = is_gzip(file_bytes);
  IdxHeader h;
  if (gz) {
    std::string head = gunzip_prefix(file_bytes, 4);
    if (head.size() == 4) head = gunzip_prefix(file_bytes, 4 + 4 * size_t(uint8_t(head[3])));
    h = read_idx_header(head);
  } else {
    h = read_idx_header(file_bytes);
  }
  auto wrong_size = [&](const char* what, uint64_t have) {
    return FormatError(std::string(what) + " IDX data: shape " + shape_str(h.shape) + " of " + h.kind->name +
                       " needs " + std::to_string(h.total_bytes - h.header_bytes) + " bytes after the header, " +
                       "the data has " + have_text(have, h.header_bytes));
  };
  if (h.total_bytes > limit)
    throw FormatError("IDX shape " + shape_str(h.shape) + " of " + h.kind->name + " needs " +
                      std::to_string(h.total_bytes) + " bytes, more than the limit of " + std::to_string(limit));
  std::string inflated;
  if (gz) {
    try {
      gunzip_into(file_bytes, inflated, h.total_bytes);
    } catch (const InflateLimitError&) {
      throw wrong_size("overlong", 0);
    }
  }
  const std::string& bytes = gz ? inflated : file_bytes;
  if (bytes.size() != h.total_bytes) throw wrong_size(bytes.size() < h.total_bytes ? "truncated" : "overlong", bytes.size());
  Array a;
  a.dtype = h.kind->name;
  a.shape = h.shape;
  const int64_t n = checked_numel(h.shape);
  a.data.resize(size_t(n));
  const uint8_t* src = reinterpret_cast<const uint8_t*>(bytes.data()) + h.header_bytes;
  float* dst = a.data.data();
  switch (h.kind->code) {
  case 0x08: convert<0x08, 1>(src, n, dst); break;
  case 0x09: convert<0x09, 1>(src, n, dst); break;
  case 0x0B: convert<0x0B, 2>(src, n, dst); break;
  case 0x0C: convert<0x0C, 4>(src, n, dst); break;
  case 0x0D: convert<0x0D, 4>(src, n, dst); break;
  default: convert<0x0E, 8>(src, n, dst); break;
  }
  return a;
}

// Reads an IDX file; errors name the file.
inline Array read_idx(const std::string& path, uint64_t limit = kDefaultInflateLimit) {
  try {
    return read_idx_bytes(read_file_bytes(path), limit);
  } catch (const FormatError& e) {
    throw FormatError(path + ": " + e.what());
  }
}

} // namespace dlc_rt
