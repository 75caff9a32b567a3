// Counter-based random numbers: every draw is a pure function of (seed, stream, counter),
// so the interpreter, the JIT and emitted code draw the same numbers in any order and on
// any thread. `stream` names a tensor (parameter initialisation: a hash of its name;
// dropout: the node's stream id combined with the step).
#pragma once

#include <cmath>
#include <cstdint>

namespace dlc_rt {

inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The stream a random op draws from at a step: its node's stream k in the high 32 bits,
// the step in the low ones (dropout and the other training-time noises).
inline uint64_t rng_step_stream(int64_t node_stream, uint64_t step) { return (uint64_t(node_stream) << 32) + step; }

inline uint64_t rng_bits(uint64_t seed, uint64_t stream, uint64_t counter) {
  return mix64(mix64(seed ^ mix64(stream)) ^ counter);
}

// Uniform in [0, 1) with 24 bits, exactly representable as float.
inline float rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  return float(rng_bits(seed, stream, counter) >> 40) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller over two uniform draws of the same counter.
inline double rng_normal(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t b = rng_bits(seed, stream, counter);
  double u1 = (double((b >> 11) & 0x1FFFFFull) + 1.0) / 2097153.0; // (0, 1]
  double u2 = double(b >> 43) / 2097152.0;                           // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// FNV-1a, for turning a parameter name into a stream id.
inline uint64_t name_hash(const char* s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ uint64_t(uint8_t(*s))) * 0x100000001b3ull;
  return h;
}

} // namespace dlc_rt
