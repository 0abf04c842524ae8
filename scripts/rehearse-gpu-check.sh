#!/usr/bin/env bash
# Rehearses the GPU check of a bare, offline CUDA image on a machine that has
# Debian's packages and no GPU (CI):
#   1. stages a fresh kit (scripts/stage-gpu-kit.sh) into OUT/kit;
#   2. runs both phases of scripts/check-gpu.sh with --hide-system-packages,
#      so CMake ignores the /usr and / prefixes and every dependency must come
#      from the kit (headers, CMake packages, GoogleTest built from source,
#      the dataset), with the built-in GEMM since OpenBLAS is hidden too;
#   3. checks that each phase ran to its end and reported "no-gpu" (exit 3),
#      not "failed", and that the configure took every dependency from the
#      kit (CMakeCache.txt and configure.log).
# Why ignore-prefixes rather than a sandbox: it needs no privileges, and
# CMake's find_* calls are the only way a dependency enters the build; the
# compilers' own /usr/include still exists, but the kit's include folders
# come first on the command line, so its headers are the ones compiled.
#
#   scripts/rehearse-gpu-check.sh [OUT=build/gpu-check-rehearsal]
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/gpu-check-rehearsal}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export DANLU_KIT=$out/kit DANLU_CHECK_BUILD=$out/build
# A GPU machine's phase has 16 cores for its 480 s; two cores need longer.
export DANLU_CHECK_BUDGET_S=${DANLU_CHECK_BUDGET_S:-3600}
unset DANLU_DATA_DIR
problems=()

"$root/scripts/stage-gpu-kit.sh" "$DANLU_KIT" || exit 1

for phase in build-test perf; do
  "$root/scripts/check-gpu.sh" "$phase" "$out" --hide-system-packages
  rc=$?
  verdict=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' \
    "$out/$phase/summary.json" 2>/dev/null)
  if [[ $rc -eq 0 && $verdict == ok ]]; then
    echo "rehearse-gpu-check: $phase passed on a GPU"
  elif [[ $rc -ne 3 || $verdict != no-gpu ]]; then
    problems+=("$phase: exit $rc, verdict ${verdict:-missing} (expected 3 and no-gpu): see $out/$phase")
  fi
done

# Every dependency from the kit, none from the system.
cache=$DANLU_CHECK_BUILD/CMakeCache.txt
for var in nlohmann_json_DIR CLI11_DIR ZLIB_INCLUDE_DIR; do
  value=$(grep -m1 "^$var:" "$cache" | cut -d= -f2-)
  [[ "$value" == "$DANLU_KIT"/* ]] || problems+=("$var is '$value', not inside the kit")
done
grep -q "GoogleTest built from the kit" "$out/build-test/configure.log" ||
  problems+=("GoogleTest was not built from the kit's sources")
grep -q "CPU GEMM: .*built-in GEMM only" "$out/build-test/configure.log" ||
  problems+=("the configure did not choose the built-in GEMM: $(grep -m1 'CPU GEMM' "$out/build-test/configure.log")")
grep -q "data: the kit" "$out/build-test/steps.tsv" ||
  problems+=("Fashion-MNIST did not come from the kit: $(grep -m1 '^environment' "$out/build-test/steps.tsv")")

if ((${#problems[@]})); then
  printf 'rehearse-gpu-check: FAILED: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "rehearse-gpu-check: both phases ran to their end with every dependency from the kit ($(du -sh "$DANLU_KIT" | cut -f1)); verdict no-gpu"
