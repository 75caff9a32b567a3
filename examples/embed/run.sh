#!/usr/bin/env bash
# Builds and runs the embedding example with weights trained elsewhere (scripts/demo.sh):
#   examples/embed/run.sh DLC WEIGHTS.safetensors [OUT]
# OUT (default: WEIGHTS' directory/embed) receives every generated file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dlc=$(realpath "$1")
weights=$(realpath "$2")
out=$(realpath -m "${3:-$(dirname "$weights")/embed}")
mkdir -p "$out"
cp "$weights" "$out/weights.safetensors" # newer than the model: make keeps it
make -s -C "$here" demo DLC="$dlc" OUT="$out"
