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

OUT=build/demo
mkdir -p "$OUT"

step "Compile the CNN's training program: fused kernels and the memory plan"
"$DLC" plan examples/cnn.json --train --batch 64

if [ -d /usr/share/datasets/fashion-mnist ]; then
  step "Train the ReLU MLP on Fashion-MNIST for one epoch with the LLVM JIT"
  "$DLC" train examples/mlp_relu_adam.json --data fashion-mnist --epochs 1 --backend jit \
    --val-split 0.1 -o "$OUT/mlp_relu_adam.safetensors" --plot "$OUT/curves.svg"
  echo "curves: $OUT/curves.svg"

  step "Classify the first test images with the trained weights"
  "$DLC" eval examples/mlp_relu_adam.json --weights "$OUT/mlp_relu_adam.safetensors" \
    --data fashion-mnist --backend jit
fi

step "Emit standalone C++ for the model (training included) and build it with g++"
"$DLC" compile examples/mlp_relu_adam.json --train -o "$OUT/net.cpp" --extern-weights
ls -l "$OUT"/net.cpp "$OUT"/net.h
g++ -std=c++17 -O2 -Wall -Wextra -Werror -c "$OUT/net.cpp" -o "$OUT/net.o"
echo "built $OUT/net.o: no dependencies beyond the C++ standard library"

if [ -f examples/embed/run.sh ] && [ -f "$OUT/mlp_relu_adam.safetensors" ]; then
  step "The embedding example: a C program classifying test images with the trained weights"
  examples/embed/run.sh "$DLC" "$OUT/mlp_relu_adam.safetensors"
fi
