// Parameter initialisers, shared by the interpreter, the JIT and emitted code so that a
// seed gives the same weights everywhere. Element i of a tensor draws from counter i
// (truncated normal: counters i, i + n, i + 2n, ... until a draw falls within 2 stddev).
#pragma once

#include "runtime/rng.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace dlc_rt {

enum class InitKind {
  zeros, ones, constant, normal, truncated_normal, uniform,
  glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, orthogonal,
  unit_forget_bias // an LSTM's bias [4H] (H = fan_in): 1 for the forget gate [H, 2H), else 0
};

// A [rows, cols] matrix (rows = n / fan_out, cols = fan_out) with orthonormal columns
// (rows >= cols) or rows (rows < cols), times `gain`: Gram-Schmidt in double over the
// columns of a standard-normal [max, min] matrix whose element (i, j) draws from counter
// i * min + j, transposed when rows < cols (Keras's Orthogonal, with Gram-Schmidt in
// place of QR; the sign convention is R's positive diagonal).
inline void fill_orthogonal(double gain, int64_t fan_out, uint64_t seed, uint64_t stream, float* out, int64_t n) {
  int64_t cols = fan_out > 0 && n % fan_out == 0 ? fan_out : n, rows = n / cols;
  int64_t m = rows > cols ? rows : cols, k = rows > cols ? cols : rows; // a: [m, k]
  std::vector<double> a(size_t(m * k));
  for (int64_t i = 0; i < m * k; i++) a[size_t(i)] = rng_normal(seed, stream, uint64_t(i));
  for (int64_t j = 0; j < k; j++) {
    for (int pass = 0; pass < 2; pass++) // modified Gram-Schmidt, run twice for accuracy
      for (int64_t p = 0; p < j; p++) {
        double dot = 0;
        for (int64_t i = 0; i < m; i++) dot += a[size_t(i * k + p)] * a[size_t(i * k + j)];
        for (int64_t i = 0; i < m; i++) a[size_t(i * k + j)] -= dot * a[size_t(i * k + p)];
      }
    double norm = 0;
    for (int64_t i = 0; i < m; i++) norm += a[size_t(i * k + j)] * a[size_t(i * k + j)];
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < m; i++) a[size_t(i * k + j)] = norm > 0 ? a[size_t(i * k + j)] / norm : 0.0;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      out[r * cols + c] = float(gain * (rows >= cols ? a[size_t(r * k + c)] : a[size_t(c * k + r)]));
}

// `value` is the constant, or an explicit stddev (normal kinds) or limit (uniform) when
// `has_value`; otherwise the scale comes from fan_in / fan_out as documented.
inline void fill_init(InitKind kind, double value, bool has_value, int64_t fan_in,
                      int64_t fan_out, uint64_t seed, uint64_t stream, float* out, int64_t n) {
  double fi = double(fan_in > 0 ? fan_in : 1), fo = double(fan_out > 0 ? fan_out : 1);
  auto normal = [&](double sd) {
    for (int64_t i = 0; i < n; i++) out[i] = float(sd * rng_normal(seed, stream, uint64_t(i)));
  };
  auto uniform = [&](double limit) {
    for (int64_t i = 0; i < n; i++)
      out[i] = float(limit * (2.0 * rng_uniform(seed, stream, uint64_t(i)) - 1.0));
  };
  switch (kind) {
  case InitKind::zeros: std::memset(out, 0, size_t(n) * sizeof(float)); return;
  case InitKind::ones:
    for (int64_t i = 0; i < n; i++) out[i] = 1.0f;
    return;
  case InitKind::constant:
    for (int64_t i = 0; i < n; i++) out[i] = float(value);
    return;
  case InitKind::normal: normal(has_value ? value : 1.0 / std::sqrt(fi)); return;
  case InitKind::lecun_normal: normal(std::sqrt(1.0 / fi)); return;
  case InitKind::glorot_normal: normal(std::sqrt(2.0 / (fi + fo))); return;
  case InitKind::he_normal: normal(std::sqrt(2.0 / fi)); return;
  case InitKind::uniform: uniform(has_value ? value : 0.05); return;
  case InitKind::glorot_uniform: uniform(std::sqrt(6.0 / (fi + fo))); return;
  case InitKind::he_uniform: uniform(std::sqrt(6.0 / fi)); return;
  case InitKind::unit_forget_bias:
    for (int64_t i = 0; i < n; i++) out[i] = i >= fan_in && i < 2 * fan_in ? 1.0f : 0.0f;
    return;
  case InitKind::orthogonal: fill_orthogonal(has_value ? value : 1.0, fan_out, seed, stream, out, n); return;
  case InitKind::truncated_normal: {
    double sd = has_value ? value : 1.0 / std::sqrt(fi);
    for (int64_t i = 0; i < n; i++) {
      double z = 0;
      for (uint64_t k = 0; k < 64; k++) {
        z = rng_normal(seed, stream, uint64_t(i) + k * uint64_t(n));
        if (std::fabs(z) <= 2.0) break;
      }
      out[i] = float(sd * (std::fabs(z) <= 2.0 ? z : 0.0));
    }
    return;
  }
  }
}

inline bool parse_init_kind(const char* name, InitKind& out) {
  static const char* names[] = {"zeros", "ones", "constant", "normal", "truncated_normal",
                                "uniform", "glorot_uniform", "glorot_normal", "he_normal",
                                "he_uniform", "lecun_normal", "orthogonal", "unit_forget_bias"};
  for (int i = 0; i < 13; i++)
    if (std::strcmp(name, names[i]) == 0) {
      out = InitKind(i);
      return true;
    }
  return false;
}

} // namespace dlc_rt
