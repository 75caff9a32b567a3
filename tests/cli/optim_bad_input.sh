#!/usr/bin/env bash
# Bad optimizer sections (docs/training.md): each is one error line naming the JSON
# location. bad_input.sh covers, with model files in tests/bad_models/: an unknown
# optimizer, an unknown hyper-parameter, a negative lr, beta1 = 1, lr given twice, an
# unknown weight_decay_mode and schedule, a member of another schedule. These are the rest.
source "$SRC/tests/lib.sh"

# model OPTIMIZER: writes $TMP/m.json, a one-layer classifier with that optimizer section.
model() {
  cat >"$TMP/m.json" <<JSON
{
  "input_shape": [4],
  "layers": [{"type": "dense", "units": 2, "activation": "softmax"}],
  "loss": "categorical_crossentropy",
  "optimizer": $1
}
JSON
}

bad() {
  model "$1"
  expect_error "$2" "$DLC" check "$TMP/m.json"
}

# Each optimizer takes only its own hyper-parameters.
bad '{"type": "adam", "momentum": 0.9}' "optimizer.momentum: optimizer 'adam' has no option 'momentum': it is an option of sgd, momentum, nesterov, rmsprop"
bad '{"type": "sgd", "beta1": 0.9}' "optimizer.beta1: optimizer 'sgd' has no option 'beta1': it is an option of adam, adamw, nadam"
bad '{"type": "adam", "amsgrad": 1.5}' "optimizer.amsgrad: expected a boolean"
bad '{"type": "sgd", "nesterov": true}' "optimizer.nesterov: nesterov needs a momentum > 0"
bad '{"type": "nesterov_momentum"}' "unknown optimizer 'nesterov_momentum'; known: sgd, momentum, nesterov"
bad '{"lr": 0.1}' "optimizer: missing required member 'type'"
# Learning rate: positive, given once, under either name.
bad '{"type": "sgd", "learning_rate": -0.5}' "optimizer.learning_rate: expected a positive number, got -0.5"
bad '{"type": "adam", "lr": 0}' "optimizer.lr: expected a positive number, got 0"
bad '{"type": "sgd", "lr": "fast"}' "optimizer.lr: expected a number"
# Hyper-parameters out of range.
bad '{"type": "rmsprop", "epsilon": 0}' "optimizer.epsilon: expected a positive number, got 0"
bad '{"type": "adadelta", "rho": 1}' "optimizer.rho: expected a number in [0, 1), got 1"
bad '{"type": "momentum", "momentum": -0.1}' "optimizer.momentum: expected a number in [0, 1)"
bad '{"type": "adam", "beta2": 1.5}' "optimizer.beta2: expected a number in [0, 1)"
bad '{"type": "nadam", "momentum_decay": -1}' "optimizer.momentum_decay: expected a number >= 0, got -1"
bad '{"type": "adagrad", "initial_accumulator": -0.1}' "optimizer.initial_accumulator: expected a number >= 0"
# Regularisers.
bad '{"type": "sgd", "weight_decay": -0.1}' "optimizer.weight_decay: expected a number >= 0, got -0.1"
bad '{"type": "sgd", "clip_norm": 0}' "optimizer.clip_norm: expected a positive number, got 0"
bad '{"type": "sgd", "clip_value": -1}' "optimizer.clip_value: expected a positive number, got -1"
# Schedules.
bad '{"type": "sgd", "schedule": {"type": "exponential", "gamma": 1.5}}' "optimizer.schedule.gamma: expected a decay factor in (0, 1], got 1.5"
bad '{"type": "sgd", "schedule": {"type": "step", "step_size": 0}}' "optimizer.schedule.step_size"
bad '{"type": "sgd", "schedule": {"type": "step", "unit": "batch"}}' 'optimizer.schedule.unit: expected "epoch" or "step"'

# And every section above, corrected, is accepted.
model '{"type": "adam", "lr": 0.01, "beta2": 0.99, "weight_decay": 0.01, "weight_decay_mode": "decoupled",
        "clip_norm": 1, "clip_value": 0.5, "schedule": {"type": "step", "step_size": 2, "gamma": 0.5, "unit": "step"}}'
expect_ok "$DLC" check "$TMP/m.json"
model '{"type": "nadam", "momentum_decay": 0.004, "learning_rate": 0.002}'
expect_ok "$DLC" check "$TMP/m.json"
finish
