// safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, then the raw little-endian data. Reads F32, F64,
// BF16, F16, I32 and I64 into f32; writes F32 (names sorted, header padded to 8 bytes).
#pragma once

#include "runtime/array.h"
#include "runtime/json.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

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
  for (auto& [name, info] : header.members) {
    if (name == "__metadata__") {
      if (metadata && info.kind == json::Kind::Object)
        for (auto& [k, v] : info.members)
          if (v.kind == json::Kind::String) (*metadata)[k] = v.text;
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

inline std::string safetensors_bytes(const TensorMap& tensors,
                                     const std::map<std::string, std::string>& metadata = {}) {
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

} // namespace dlc_rt
