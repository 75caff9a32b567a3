#!/usr/bin/env bash
# The main job on the bundled examples (run by `make demo` after the build).
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/bin/dlc}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Validate every example model"
for m in examples/*.json; do "$DLC" check "$m"; done

step "Summarise the CNN (batch 64)"
"$DLC" summary examples/cnn.json --batch 64

step "The X-or-O model as IR"
"$DLC" show examples/xo.json --emit=graph

step "Run it through the reference interpreter (untrained weights from seed 0)"
"$DLC" predict examples/xo.json --input examples/data/xo_samples.npy --seed 0

if [ -f tests/fixtures/conv_example/model.json ]; then
  step "The hand-worked convolution example: 6x6 image, 3x3 diagonal filter, 2x2 max pool"
  "$DLC" predict tests/fixtures/conv_example/model.json \
    --weights tests/fixtures/conv_example/weights.safetensors \
    --input tests/fixtures/conv_example/image.npy
fi
