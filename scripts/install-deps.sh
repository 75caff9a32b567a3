#!/usr/bin/env bash
# Installs the Debian packages dlc needs to build and test. Idempotent: when every
# package is already present it only runs dpkg-query and exits.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang-19 llvm-19-dev libfmt-dev
  doctest-dev dataset-fashion-mnist libpng-dev nlohmann-json3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx python3-numpy pybind11-dev python3-dev libhdf5-dev pkg-config
)
# Extra packages a target asks for (e.g. `install-deps.sh python3-torch`).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -o DPkg::Lock::Timeout=600 -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
  --no-install-recommends "${missing[@]}" >/dev/null
