// Parameter initialisers, shared by the interpreter, the JIT and emitted code so that a
// seed gives the same weights everywhere. Element i of a tensor draws from counter i
// (truncated normal: counters i, i + n, i + 2n, ... until a draw falls within 2 stddev).
#pragma once

#include "runtime/rng.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace dlc_rt {

enum class InitKind {
  zeros, ones, constant, normal, truncated_normal, uniform,
  glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal
};

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
                                "he_uniform", "lecun_normal"};
  for (int i = 0; i < 11; i++)
    if (std::strcmp(name, names[i]) == 0) {
      out = InitKind(i);
      return true;
    }
  return false;
}

} // namespace dlc_rt
