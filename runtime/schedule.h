// Learning-rate schedules (docs/training.md): the rate of a training step from the base
// rate, written once for dlc's trainer (passes::scheduled_lr) and for emitted training
// code (net_train_step), which therefore follow the same schedule to the bit.
#pragma once

#include <cmath>
#include <cstdint>

namespace dlc_rt {

enum class ScheduleKind : int { constant, inverse_sqrt, inverse_time, step, exponential, cosine, piecewise };

struct Schedule {
  ScheduleKind kind;
  double lr;              // the base rate
  bool per_step;          // t counts steps (else epochs), from 0
  double warmup;          // t < warmup: lr * (t + 1) / warmup; the schedule starts after it
  double step_size, gamma;           // step, exponential
  double decay_rate, decay_steps;    // inverse_time; decay_steps is cosine's (first) period
  double alpha;                      // cosine: floor, a fraction of lr
  bool restarts;                     // cosine: restart after each period, the period times
  double t_mul, m_mul;               // t_mul and the height times m_mul
  const double* boundaries;          // piecewise: values[i] while t <= boundaries[i]
  const double* values;              // pieces + 1 rates
  int64_t pieces;
};

inline double scheduled_lr(const Schedule& s, uint64_t step, uint64_t epoch) {
  double t = double(s.per_step ? step : epoch);
  if (t < s.warmup) return s.lr * (t + 1) / s.warmup;
  t -= s.warmup;
  switch (s.kind) {
  case ScheduleKind::constant: return s.lr;
  case ScheduleKind::inverse_sqrt: return s.lr / std::sqrt(t + 1);
  case ScheduleKind::inverse_time: return s.lr / (1 + s.decay_rate * t / s.decay_steps);
  case ScheduleKind::step: return s.lr * std::pow(s.gamma, std::floor(t / s.step_size));
  case ScheduleKind::exponential: return s.lr * std::pow(s.gamma, t);
  case ScheduleKind::piecewise: {
    int64_t i = 0;
    while (i < s.pieces && t > s.boundaries[i]) i++;
    return s.values[i];
  }
  case ScheduleKind::cosine: {
    // Keras's CosineDecay, and CosineDecayRestarts (SGDR): within a period of length T
    // (the i-th: decay_steps * t_mul^i, height m_mul^i) the rate falls from lr to alpha * lr.
    double period = s.decay_steps, height = 1, x = t;
    if (s.restarts) {
      while (x >= period) {
        x -= period;
        period *= s.t_mul;
        height *= s.m_mul;
      }
    } else if (x > period) {
      x = period;
    }
    double cosine = 0.5 * (1 + std::cos(3.14159265358979323846 * x / period));
    return s.lr * ((1 - s.alpha) * height * cosine + s.alpha);
  }
  }
  return s.lr;
}

} // namespace dlc_rt
