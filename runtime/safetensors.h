// safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, then the raw little-endian data. Reads F32, F64,
// BF16, F16, I32 and I64 into f32; writes F32 (names sorted, header padded to 8 bytes).
//
// The format requires the tensors to cover the data exactly: no gaps, no overlaps, no
// bytes after the last one. Reading checks that.
//
// Checksums: safetensors_bytes adds the metadata entry "crc32", the CRC-32 of
// the whole file as written with that entry's eight hex digits set to "00000000", and
// every read of a file that has the entry verifies it, so that a flipped bit or a value
// written by something else is reported instead of being trained on.
#pragma once

#include "runtime/array.h"
#include "runtime/crc32.h"
#include "runtime/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace dlc_rt {

using TensorMap = std::map<std::string, Array>;

namespace st_detail {
inline float half_to_float(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  float v = exp == 0 ? std::ldexp(float(man), -24)
            : exp == 31 ? (man ? NAN : INFINITY)
                        : std::ldexp(float(man | 0x400), exp - 25);
  return sign ? -v : v;
}
constexpr const char* kChecksumKey = "crc32";
constexpr const char* kChecksumField = "\"crc32\":\"";

// Where the eight hex digits of the checksum entry start in a file, or npos when the
// file has none (or, written by something else, more than one such text).
inline size_t checksum_digits(const std::string& bytes, size_t header_end) {
  size_t at = bytes.find(kChecksumField, 8);
  if (at == std::string::npos || at >= header_end) return std::string::npos;
  if (bytes.find(kChecksumField, at + 1) < header_end) return std::string::npos;
  at += std::strlen(kChecksumField);
  return at + 8 <= header_end ? at : std::string::npos;
}

// The CRC-32 of `bytes` with the 8 digits at `digits` read as "00000000" (in three
// pieces, without copying the file).
inline uint32_t checksum_of(const std::string& bytes, size_t digits) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint8_t zeros[8] = {'0', '0', '0', '0', '0', '0', '0', '0'};
  uint32_t crc = crc32(p, digits);
  crc = crc32(zeros, 8, crc);
  return crc32(p + digits + 8, bytes.size() - digits - 8, crc);
}

inline std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// Checks the data offsets: together the tensors must cover [0, data_size) exactly.
inline void check_coverage(std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans, uint64_t data_size) {
  std::sort(spans.begin(), spans.end());
  uint64_t at = 0;
  for (const auto& [b, e, name] : spans) {
    if (b < at)
      throw FormatError("tensor '" + name + "' overlaps the tensor before it (data_offsets [" + std::to_string(b) +
                        ", " + std::to_string(e) + "])");
    if (b > at)
      throw FormatError("the data has a gap of " + std::to_string(b - at) + " bytes before tensor '" + name + "'");
    at = e;
  }
  if (at != data_size)
    throw FormatError(std::to_string(data_size - at) + " data bytes after the last tensor belong to none");
}

} // namespace st_detail

// Parses a whole safetensors file held in memory. `metadata` receives "__metadata__".
inline TensorMap read_safetensors_bytes(const std::string& bytes,
                                        std::map<std::string, std::string>* metadata = nullptr) {
  if (bytes.size() < 8) throw FormatError("truncated safetensors file (no header length)");
  uint64_t n = 0;
  for (int i = 0; i < 8; i++) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  if (n > bytes.size() - 8) throw FormatError("truncated safetensors file (header length " + std::to_string(n) + " exceeds the file)");
  json::Value header;
  try {
    header = json::parse(bytes.substr(8, size_t(n)));
  } catch (const json::ParseError& e) {
    throw FormatError("safetensors header is not valid JSON: " + std::string(e.what()));
  }
  if (header.kind != json::Kind::Object) throw FormatError("safetensors header is not a JSON object");
  size_t data_start = 8 + size_t(n);
  uint64_t data_size = bytes.size() - data_start;
  TensorMap out;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans;
  for (auto& [name, info] : header.members) {
    if (name == "__metadata__") {
      if (info.kind != json::Kind::Object) throw FormatError("safetensors __metadata__ is not a JSON object");
      for (auto& [k, v] : info.members) {
        if (v.kind != json::Kind::String) throw FormatError("safetensors __metadata__ values must be strings");
        if (k == st_detail::kChecksumKey) {
          size_t digits = st_detail::checksum_digits(bytes, data_start);
          if (digits == std::string::npos || bytes.compare(digits, 8, v.text) != 0 || v.text.size() != 8)
            throw FormatError("the checksum entry is malformed");
          if (st_detail::hex32(st_detail::checksum_of(bytes, digits)) != v.text)
            throw FormatError("checksum mismatch: the file was changed or damaged after it was written");
        }
        if (metadata) (*metadata)[k] = v.text;
      }
      continue;
    }
    const std::string& tensor = name; // C++17: a lambda cannot capture a structured binding
    auto bad = [&](const std::string& what) { return FormatError("tensor '" + tensor + "': " + what); };
    const json::Value* dt = info.find("dtype");
    const json::Value* sh = info.find("shape");
    const json::Value* off = info.find("data_offsets");
    if (!dt || !sh || !off || dt->kind != json::Kind::String || sh->kind != json::Kind::Array ||
        off->kind != json::Kind::Array || off->items.size() != 2)
      throw bad("header entry needs dtype, shape and data_offsets");
    Array a;
    for (auto& d : sh->items) {
      // Range-checked before the cast: a double beyond int64 would be undefined behaviour.
      if (d.kind != json::Kind::Number || !d.is_integer || d.number < 0 || d.number > 1e15)
        throw bad("shape is malformed");
      a.shape.push_back(int64_t(d.number));
    }
    int64_t count = checked_numel(a.shape);
    if (count < 0) throw bad("shape is too large");
    int size;
    std::string t = dt->text;
    if (t == "F32" || t == "I32") size = 4;
    else if (t == "F64" || t == "I64") size = 8;
    else if (t == "BF16" || t == "F16") size = 2;
    else throw bad("unsupported dtype " + t);
    for (auto& o : off->items)
      if (o.kind != json::Kind::Number || !o.is_integer || o.number < 0 || o.number > 1e18)
        throw bad("data_offsets are malformed");
    uint64_t b = uint64_t(off->items[0].number), e = uint64_t(off->items[1].number);
    if (b > e || e > data_size)
      throw bad("data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                "] lie outside the " + std::to_string(data_size) + " data bytes (truncated file?)");
    if (e - b != uint64_t(count) * uint64_t(size))
      throw bad("holds " + std::to_string(e - b) + " bytes, shape " + shape_str(a.shape) + " of " +
                t + " needs " + std::to_string(count * size));
    spans.emplace_back(b, e, name);
    const char* p = bytes.data() + data_start + b;
    a.data.resize(size_t(count));
    a.dtype = t;
    for (int64_t i = 0; i < count; i++) {
      const char* q = p + i * size;
      if (t == "F32") std::memcpy(&a.data[size_t(i)], q, 4);
      else if (t == "F64") { double v; std::memcpy(&v, q, 8); a.data[size_t(i)] = float(v); }
      else if (t == "I32") { int32_t v; std::memcpy(&v, q, 4); a.data[size_t(i)] = float(v); }
      else if (t == "I64") { int64_t v; std::memcpy(&v, q, 8); a.data[size_t(i)] = float(v); }
      else if (t == "BF16") { uint32_t v = uint32_t(uint8_t(q[0]) | (uint8_t(q[1]) << 8)) << 16; std::memcpy(&a.data[size_t(i)], &v, 4); }
      else { a.data[size_t(i)] = st_detail::half_to_float(uint16_t(uint8_t(q[0]) | (uint8_t(q[1]) << 8))); }
    }
    out[name] = std::move(a);
  }
  st_detail::check_coverage(std::move(spans), data_size);
  return out;
}

inline std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += c; }
    else if (uint8_t(c) < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\u%04x", c); o += buf; }
    else o += c;
  }
  return o;
}

namespace st_detail {
inline std::string serialize(const TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool f = true;
    for (auto& [k, v] : metadata) {
      header += (f ? "" : ",") + std::string("\"") + json_escape(k) + "\":\"" + json_escape(v) + "\"";
      f = false;
    }
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (auto& [name, a] : tensors) {
    uint64_t bytes = uint64_t(a.data.size()) * 4;
    header += (first ? "" : ",") + std::string("\"") + json_escape(name) + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < a.shape.size(); i++) header += (i ? "," : "") + std::to_string(a.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
    first = false;
  }
  header += "}";
  header += std::string((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; i++) out[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xFF);
  out += header;
  for (auto& [name, a] : tensors)
    out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size() * sizeof(float));
  return out;
}

} // namespace st_detail

// A safetensors file of F32 tensors with `metadata` and the "crc32" entry that reads verify.
inline std::string safetensors_bytes(const TensorMap& tensors, std::map<std::string, std::string> metadata = {}) {
  metadata[st_detail::kChecksumKey] = "00000000";
  std::string out = st_detail::serialize(tensors, metadata);
  uint64_t header = 0;
  for (int i = 0; i < 8; i++) header |= uint64_t(uint8_t(out[size_t(i)])) << (8 * i);
  size_t digits = st_detail::checksum_digits(out, size_t(8 + header));
  out.replace(digits, 8, st_detail::hex32(st_detail::checksum_of(out, digits)));
  return out;
}

} // namespace dlc_rt
