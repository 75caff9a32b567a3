// The interpreter's tensor: a type and f32 storage. Integer tensors (labels, token ids)
// hold exact integers in the floats; every integer dlc handles is far below 2^24.
#pragma once

#include "ir/types.h"

#include <vector>

namespace dlc::ir {

struct Tensor {
  TensorType type;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(TensorType t) : type(std::move(t)), data(size_t(type.shape.numel()), 0.0f) {}
  Tensor(TensorType t, std::vector<float> d) : type(std::move(t)), data(std::move(d)) {}

  const Shape& shape() const { return type.shape; }
  int64_t numel() const { return int64_t(data.size()); }
  float& operator[](int64_t i) { return data[size_t(i)]; }
  float operator[](int64_t i) const { return data[size_t(i)]; }
};

} // namespace dlc::ir
