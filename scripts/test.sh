#!/usr/bin/env bash
# The whole test suite, as CI runs it on a machine with nvcc and no GPU
# (about 40 minutes on 2 cores); stops at the first stage that fails and
# prints each stage's minutes at the end.
#   1. default        Release build with the CUDA backend; unit, gradcheck,
#                     e2e tests and the static GPU resource check
#   2. builtin-gemm   the same CPU tests again with the built-in GEMM forced
#                     (DANLU_GEMM=builtin), as on machines without OpenBLAS
#   3. emulated       the CUDA kernels' parity tests run by the SIMT emulator,
#                     with its shared-memory race and initialisation checks
#   4. emulated-asan  the same under AddressSanitizer and UBSan, and the fuzz
#                     tests (mutated checkpoints, configs, IDX headers, plot
#                     inputs) against that danlu
#   5. gpu-rehearsal  both phases of scripts/check-gpu.sh as on a bare CUDA
#                     image: every dependency from the offline kit, verdict
#                     "no-gpu" (scripts/rehearse-gpu-check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
stage() {
  local name=$1 t0=$SECONDS
  shift
  echo "==== test.sh: $name: $*"
  "$@"
  timings+=("$(awk -v n="$name" -v s=$((SECONDS - t0)) 'BEGIN {printf "%-14s %5.1f min", n, s / 60}')")
}

stage default cmake --workflow --preset default
stage builtin-gemm ctest --preset default-builtin-gemm
stage emulated cmake --workflow --preset emulated
stage emulated-asan cmake --workflow --preset emulated-asan
stage gpu-rehearsal scripts/rehearse-gpu-check.sh
printf '==== test.sh: all stages passed\n'
printf '  %s\n' "${timings[@]}"
