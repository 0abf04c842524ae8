#!/usr/bin/env bash
# Gathers into one folder (default .gpu-kit/, ignored by git; at most 45 MiB)
# what a bare, offline CUDA image lacks to build and check danlu, taken from
# this machine's Debian packages (installed first when missing):
#   prefix/include/nlohmann, prefix/share/cmake/nlohmann_json   nlohmann-json3-dev
#   prefix/include/CLI,      prefix/share/cmake/CLI11            libcli11-dev
#   prefix/include/zlib.h, zconf.h                               zlib1g-dev
#   googletest/ (sources, built by danlu's CMake when needed)    googletest
#   fashion-mnist/ (the four .gz files)                          dataset-fashion-mnist
# Everything is relocatable: the CMake package files compute their prefix
# from their own location, and check-gpu.sh passes the folder's path at run
# time. Carry the folder beside the repository; check-gpu.sh finds it there.
#
#   scripts/stage-gpu-kit.sh [KIT_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kit=${1:-$root/.gpu-kit}
limit_mib=45

"$root/scripts/setup.sh" >/dev/null
for p in nlohmann-json3-dev libcli11-dev zlib1g-dev googletest dataset-fashion-mnist; do
  dpkg -s "$p" >/dev/null 2>&1 || { echo "stage-gpu-kit: $p is not installed" >&2; exit 1; }
done

# Copies every file of Debian package $1 under its folder $2 to $kit/$3.
copy_package_dir() {
  local package=$1 from=$2 to=$kit/$3 file
  mkdir -p "$to"
  while read -r file; do
    [[ -f "$file" && "$file" == "$from"/* ]] || continue
    mkdir -p "$to/$(dirname "${file#"$from"/}")"
    cp "$file" "$to/${file#"$from"/}"
  done < <(dpkg -L "$package")
}

rm -rf "$kit.partial"
mkdir -p "$kit.partial"
final=$kit
kit=$kit.partial
copy_package_dir nlohmann-json3-dev /usr/include/nlohmann prefix/include/nlohmann
copy_package_dir nlohmann-json3-dev /usr/share/cmake/nlohmann_json prefix/share/cmake/nlohmann_json
copy_package_dir libcli11-dev /usr/include/CLI prefix/include/CLI
copy_package_dir libcli11-dev /usr/share/cmake/CLI11 prefix/share/cmake/CLI11
cp /usr/include/zlib.h /usr/include/zconf.h "$kit/prefix/include/"
copy_package_dir googletest /usr/src/googletest googletest
copy_package_dir dataset-fashion-mnist /usr/share/datasets/fashion-mnist fashion-mnist

# What each piece is, for the reader of the folder and for check-gpu.sh.
{
  echo "danlu GPU kit, staged $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/stage-gpu-kit.sh"
  for p in nlohmann-json3-dev libcli11-dev zlib1g-dev googletest dataset-fashion-mnist; do
    echo "$p $(dpkg-query -W -f='${Version}' "$p")"
  done
} >"$kit/MANIFEST"

size_kib=$(du -sk "$kit" | cut -f1)
if ((size_kib > limit_mib * 1024)); then
  echo "stage-gpu-kit: $kit is $((size_kib / 1024)) MiB, over the $limit_mib MiB a GPU run can carry" >&2
  exit 1
fi
rm -rf "$final"
mv "$kit" "$final"
echo "stage-gpu-kit: $final ($((size_kib / 1024)) MiB):"
sed 's/^/  /' "$final/MANIFEST"
