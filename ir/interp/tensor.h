// The interpreter's tensor: a type and its elements held as doubles. In the interpreter's
// default f32 precision every op's results are rounded to float after the op (so values
// are exactly what f32 storage holds, with double accumulation inside each op); in f64
// precision nothing is rounded, which gradient checks use for finite differences.
// Integer tensors (labels, token ids) hold exact integers.
#pragma once

#include "ir/types.h"

#include <initializer_list>
#include <vector>

namespace dlc::ir {

struct Tensor {
  TensorType type;
  std::vector<double> data;

  Tensor() = default;
  explicit Tensor(TensorType t) : type(std::move(t)), data(size_t(type.shape.numel()), 0.0) {}
  Tensor(TensorType t, std::vector<double> d) : type(std::move(t)), data(std::move(d)) {}
  Tensor(TensorType t, const std::vector<float>& d)
      : type(std::move(t)), data(d.begin(), d.end()) {}
  // Tensor(type, {1, 2.5}): without this a braced list is ambiguous between the two above.
  Tensor(TensorType t, std::initializer_list<double> d) : type(std::move(t)), data(d) {}

  const Shape& shape() const { return type.shape; }
  int64_t numel() const { return int64_t(data.size()); }
  double& operator[](int64_t i) { return data[size_t(i)]; }
  double operator[](int64_t i) const { return data[size_t(i)]; }
  std::vector<float> to_float() const { return std::vector<float>(data.begin(), data.end()); }
  // Rounds every element to the nearest float (f32 storage).
  void round_to_f32() {
    for (double& v : data) v = double(float(v));
  }
};

} // namespace dlc::ir
