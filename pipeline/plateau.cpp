#include "pipeline/plateau.h"

#include <algorithm>

namespace dlc::pipeline {

bool plateau_epoch_end(const ir::PlateauSpec& p, double lr, double current, PlateauState& s) {
  if (s.cooldown > 0) {
    s.cooldown--;
    s.wait = 0;
  }
  bool better = !s.seen || (p.maximize ? current > s.best + p.min_delta : current < s.best - p.min_delta);
  if (better) {
    s.best = current;
    s.seen = true;
    s.wait = 0;
    return false;
  }
  if (s.cooldown > 0) return false;
  if (++s.wait < p.patience) return false;
  double rate = lr * s.multiplier;
  if (!(rate > p.min_lr)) return false;
  s.multiplier = std::max(rate * p.factor, p.min_lr) / lr;
  s.cooldown = p.cooldown;
  s.wait = 0;
  return true;
}

} // namespace dlc::pipeline
