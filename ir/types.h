// Element types, static shapes and tensor types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dlc::ir {

// bf16 and i8 are reserved for lower-precision inference; no op produces them yet.
enum class DType : uint8_t { f32, i32, i64, boolean, bf16, i8 };

const char* dtype_name(DType t); // "f32", "i32", "i64", "bool", "bf16", "i8"
bool parse_dtype(const std::string& name, DType& out);
int64_t dtype_size(DType t); // bytes per element
inline bool is_float(DType t) { return t == DType::f32 || t == DType::bf16; }
inline bool is_integer(DType t) { return t == DType::i32 || t == DType::i64 || t == DType::i8; }

// A static shape: every dimension is a known positive extent. Rank 0 is a scalar.
struct Shape {
  std::vector<int64_t> dims;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) : dims(d) {}
  explicit Shape(std::vector<int64_t> d) : dims(std::move(d)) {}

  int rank() const { return int(dims.size()); }
  int64_t operator[](int i) const { return dims[size_t(i)]; }
  int64_t& operator[](int i) { return dims[size_t(i)]; }
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  bool operator==(const Shape& o) const { return dims == o.dims; }
  bool operator!=(const Shape& o) const { return dims != o.dims; }
  std::string str() const; // "[100,784]"
};

struct TensorType {
  DType dtype = DType::f32;
  Shape shape;

  int64_t bytes() const { return shape.numel() * dtype_size(dtype); }
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
  std::string str() const; // "f32[100,784]"
};

// Row-major strides of a shape, in elements.
std::vector<int64_t> strides_of(const Shape& s);

} // namespace dlc::ir
