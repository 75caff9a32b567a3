#include "ir/types.h"

namespace dlc::ir {

const char* dtype_name(DType t) {
  switch (t) {
  case DType::f32: return "f32";
  case DType::i32: return "i32";
  case DType::i64: return "i64";
  case DType::boolean: return "bool";
  case DType::bf16: return "bf16";
  case DType::i8: return "i8";
  }
  return "?";
}

bool parse_dtype(const std::string& name, DType& out) {
  for (DType t : {DType::f32, DType::i32, DType::i64, DType::boolean, DType::bf16, DType::i8})
    if (name == dtype_name(t)) {
      out = t;
      return true;
    }
  return false;
}

int64_t dtype_size(DType t) {
  switch (t) {
  case DType::f32: return 4;
  case DType::i32: return 4;
  case DType::i64: return 8;
  case DType::boolean: return 1;
  case DType::bf16: return 2;
  case DType::i8: return 1;
  }
  return 0;
}

std::string Shape::str() const {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); i++) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

std::string TensorType::str() const { return std::string(dtype_name(dtype)) + shape.str(); }

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.dims.size());
  int64_t acc = 1;
  for (size_t i = s.dims.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s.dims[i];
  }
  return st;
}

} // namespace dlc::ir
