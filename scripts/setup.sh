#!/usr/bin/env bash
# Installs what danlu needs to build, test and train from Debian's packages
# (skipping what is already there). Uses sudo when not run as root.
set -euo pipefail

packages=(cmake ninja-build g++ libopenblas-dev libgtest-dev libcli11-dev nlohmann-json3-dev
          zlib1g-dev dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "setup: all build, test and data packages are installed"
