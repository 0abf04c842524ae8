#!/usr/bin/env bash
# Installs what danlu needs to build, test and train from Debian's packages
# (skipping what is already there), and NVIDIA's nvdisasm from PyPI into
# build/cuda-tools for the SASS instruction mix of docs/gpu-resources.md
# (optional: without it that table is left out of the check). Uses sudo when
# not run as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# Installs those of the named packages that are missing; the first argument
# is extra apt-get options (may be empty).
install_missing() {
  local options=$1 missing=() p
  shift
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  # shellcheck disable=SC2086 # options are words
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq $options "${missing[@]}" >/dev/null
}

install_missing "" cmake ninja-build g++ libopenblas-dev libgtest-dev googletest libcli11-dev \
  nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin
# PLplot draws the pictures; its recommends (Lua and OCaml bindings) are not needed.
install_missing --no-install-recommends libplplot-dev plplot-driver-cairo
echo "setup: all build, test and data packages are installed"

# The version the checked-in docs/gpu-resources.md was made with.
nvdisasm_wheel=nvidia-cuda-nvdisasm==13.5.37
if command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  if compgen -G "$root/build/cuda-tools/nvidia_cuda_nvdisasm-13.5.37.dist-info" >/dev/null; then
    echo "setup: nvdisasm is in build/cuda-tools"
  elif python3 -m pip install -q --disable-pip-version-check --no-deps \
         --target "$root/build/cuda-tools" "$nvdisasm_wheel" >/dev/null 2>&1; then
    echo "setup: installed $nvdisasm_wheel into build/cuda-tools"
  else
    echo "setup: could not install $nvdisasm_wheel (pip); the GPU resource check leaves out the instruction mix"
  fi
fi
