#!/usr/bin/env bash
# The GPU check: danlu's CUDA backend on a real GPU, in two phases that each
# fit in 9 minutes on a bare, offline CUDA image (one H100/H200, 16 cores).
#
#   scripts/check-gpu.sh build-test OUT [--hide-system-packages]
#   scripts/check-gpu.sh perf OUT [--compile]
#
# build-test  configures and builds for the local GPU (build/check-gpu), runs
#             `danlu devices`, `ctest -L gpu` and one epoch of the sample
#             program on the GPU. A GPU that is visible while every gpu test
#             skips (e.g. a driver too old for the CUDA 13 runtime) fails.
# perf        reuses that build (or makes it): `danlu profile` against cuDNN
#             and the roofline, the training-step profiles of two configs,
#             danlu beside PyTorch eager on the same GPU (--compile adds
#             torch.compile: minutes when cold), and compute-sanitizer
#             memcheck, racecheck, initcheck and synccheck on the kernel tests.
#
# Each phase writes into OUT/<phase>/: logs, steps.tsv and summary.json,
# rewritten after every step, so a phase cut short still leaves its summary
# (scripts/check-gpu-summary.py; docs/gpu-check.md explains the fields).
# It exits 0 when every step passed on a GPU, 3 when nothing failed but no
# GPU was there to test (verdict "no-gpu"), 1 when a step failed.
#
# What the image lacks comes from the kit that scripts/stage-gpu-kit.sh
# gathers (DANLU_KIT, default .gpu-kit/ beside the repository): CMake uses
# each piece only where the system has none, and says which. cuDNN comes from
# the CUDA toolkit or else from an nvidia-cudnn pip wheel of any Python on
# the machine. --hide-system-packages makes CMake ignore the /usr and /
# prefixes, so that every dependency must come from the kit: the rehearsal
# of a bare image on a machine that has the Debian packages
# (scripts/rehearse-gpu-check.sh).
#
# DANLU_CHECK_BUDGET_S (default 480) bounds a phase's seconds; steps that no
# longer fit are skipped and say so. DANLU_CHECK_BUILD overrides the build
# folder.
set -uo pipefail

usage() {
  echo "usage: $0 build-test|perf OUT [--hide-system-packages] [--compile]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
phase=$1
[[ $phase == build-test || $phase == perf ]] || usage
hide_system=no
compile=no
for option in "${@:3}"; do
  case $option in
    --hide-system-packages) hide_system=yes ;;
    --compile) compile=yes ;;
    *) usage ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$2/$phase" || exit 2
out=$(cd "$2/$phase" && pwd)
build=${DANLU_CHECK_BUILD:-$root/build/check-gpu}
budget=${DANLU_CHECK_BUDGET_S:-480}
jobs=$(nproc)
start=$SECONDS
steps=$out/steps.tsv
: >"$steps"

log() { echo "check-gpu $phase: $*"; }
left() { echo $((budget - (SECONDS - start))); }
# The smaller of what is left (less a reserve) and a step's own cap, at least 10 s.
limit() { local l=$(($(left) - $2)); ((l > $1)) && l=$1; ((l < 10)) && l=10; echo "$l"; }
summarize() {
  python3 "$root/scripts/check-gpu-summary.py" "$phase" "$out" "$@" ||
    log "python3 failed: summary.json not written, see steps.tsv"
}
# record NAME STATUS SECONDS DETAIL: one line of steps.tsv, then the summary.
record() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" >>"$steps"
  log "$1: $2 ($3 s) ${4:0:160}"
  summarize >/dev/null
}
trap 'record interrupted failed $((SECONDS - start)) "stopped by a signal"; times >"$out/times.txt"; summarize --final; exit 1' INT TERM

# ---- the machine --------------------------------------------------------------
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)
nvidia-smi >"$out/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit \
  --format=csv >"$out/gpu.csv" 2>/dev/null || rm -f "$out/gpu.csv"
{
  echo "cores: $jobs"
  echo "nvcc: $(nvcc --version 2>/dev/null | grep -m1 -o 'release [0-9.]*' || echo missing)"
  echo "cmake: $(cmake --version 2>/dev/null | head -n1 || echo missing)"
  echo "ninja: $(ninja --version 2>/dev/null || echo missing)"
  echo "python3: $(python3 --version 2>&1)"
  echo "torch: $(python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available" if torch.cuda.is_available() else "unavailable")' 2>/dev/null || echo missing)"
  echo "compute-sanitizer: $(compute-sanitizer --version 2>/dev/null | grep -m1 -o 'Version .*' || echo missing)"
} >"$out/toolchain.txt"
if [[ -n "$gpu_name" ]]; then
  record machine ok 0 "$gpu_name, $jobs cores"
else
  record machine no-gpu 0 "no GPU visible to nvidia-smi, $jobs cores"
fi

# ---- where the dependencies come from --------------------------------------------
kit=${DANLU_KIT:-$root/.gpu-kit}
[[ -d "$kit" ]] || kit=""
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DDANLU_WERROR=OFF)
[[ -n "$kit" ]] && cmake_args+=("-DDANLU_KIT=$kit")
if [[ $hide_system == yes ]]; then
  # find_* and find_package skip the /usr and / prefixes (CMake 3.23+):
  # Debian's -dev packages are invisible, the CUDA toolkit in /usr/local is
  # not. The zlib runtime is the one system library the kit relies on.
  cmake_args+=("-DCMAKE_IGNORE_PREFIX_PATH=/usr;/"
               "-DZLIB_LIBRARY=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')")
fi

# Fashion-MNIST: DANLU_DATA_DIR as given, else the Debian package, else the kit.
data_from="DANLU_DATA_DIR (already set)"
if [[ -z "${DANLU_DATA_DIR:-}" ]]; then
  if [[ $hide_system == no && -d /usr/share/datasets/fashion-mnist ]]; then
    data_from="the dataset-fashion-mnist package"
  elif [[ -n "$kit" && -d "$kit/fashion-mnist" ]]; then
    export DANLU_DATA_DIR="$kit/fashion-mnist"
    data_from="the kit"
  else
    data_from="nowhere: tests that need it skip (run scripts/stage-gpu-kit.sh)"
  fi
fi

# cuDNN 9+: the toolkit's, else the newest nvidia-cudnn pip wheel of any
# Python here (not only the first python3 in PATH).
cudnn_major_minor() {  # INCLUDE_DIR -> "9 19", or nothing
  local h
  for h in "$1/cudnn_version.h" "$1/cudnn.h"; do
    [[ -f "$h" ]] || continue
    awk '/^#define CUDNN_MAJOR /{a=$3} /^#define CUDNN_MINOR /{b=$3} END {if (a != "") print a, b}' "$h"
    return
  done
}
# The site-packages folders of every Python here, where pip's NVIDIA wheels are.
site_dirs=$(
  for py in python3 /usr/bin/python3 /usr/local/bin/python3 /opt/conda/bin/python3 \
            $(compgen -c python3. 2>/dev/null | sort -u); do
    command -v "$py" >/dev/null 2>&1 || continue
    "$py" -c 'import site; print(*site.getsitepackages(), site.getusersitepackages(), sep="\n")' 2>/dev/null
  done
  ls -d /usr/local/lib/python3*/*-packages /usr/lib/python3*/*-packages 2>/dev/null
)
cudnn_from="none found"
toolkit=$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")
read -r major _ <<<"$(cudnn_major_minor "$toolkit/include")"
if [[ "${major:-0}" -ge 9 ]] && ls "$toolkit"/lib*/libcudnn.so* >/dev/null 2>&1; then
  cudnn_from="the CUDA toolkit ($toolkit)"
else
  best=0
  while read -r dir; do
    wheel="$dir/nvidia/cudnn"
    [[ -n "$dir" && -f "$wheel/include/cudnn.h" ]] || continue
    read -r major minor <<<"$(cudnn_major_minor "$wheel/include")"
    lib=$(ls "$wheel"/lib/libcudnn.so* 2>/dev/null | head -n1)
    if [[ -n "$lib" && "${major:-0}" -ge 9 ]] && ((major * 100 + minor > best)); then
      best=$((major * 100 + minor))
      export CUDNN_ROOT="$wheel"
      cudnn_lib=$lib
    fi
  done <<<"$(printf '%s\n' "$site_dirs" | awk 'NF && !seen[$0]++')"
  if ((best > 0)); then
    export LD_LIBRARY_PATH="$CUDNN_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    cmake_args+=("-DDANLU_CUDNN_LIBRARY=$cudnn_lib" "-DDANLU_CUDNN_INCLUDE_DIR=$CUDNN_ROOT/include")
    cudnn_from="pip wheel $CUDNN_ROOT (cuDNN $((best / 100)).$((best % 100)))"
  fi
fi
# NCCL (data-parallel GPU gradients): the toolkit's, else a pip wheel's
# (nvidia-nccl-cu*, which PyTorch's wheels bring).
nccl_from="none found"
if ls "$toolkit"/lib*/libnccl.so* >/dev/null 2>&1 && [[ -f "$toolkit/include/nccl.h" ]]; then
  nccl_from="the CUDA toolkit ($toolkit)"
else
  while read -r dir; do
    wheel="$dir/nvidia/nccl"
    if [[ -n "$dir" && -f "$wheel/include/nccl.h" ]] && ls "$wheel"/lib/libnccl.so* >/dev/null 2>&1; then
      export NCCL_ROOT="$wheel"
      export LD_LIBRARY_PATH="$NCCL_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      nccl_from="pip wheel $NCCL_ROOT"
      break
    fi
  done <<<"$(printf '%s\n' "$site_dirs" | awk 'NF && !seen[$0]++')"
fi
record environment ok 0 "kit: ${kit:-none}; data: $data_from; cuDNN: $cudnn_from; NCCL: $nccl_from"

# ---- configure and build ------------------------------------------------------------
gpu_tests() {  # the gpu test executables that exist in the build
  local exe
  for exe in "$build"/tests/gpu_*; do
    [[ -x "$exe" && -f "$exe" ]] && echo "$exe"
  done
}

configure_and_build() {
  local t0=$SECONDS archs=90 generator=() targets=(danlu_cli fashion_mnist_cnn) src
  [[ -n "$gpu_name" ]] && archs=native
  command -v ninja >/dev/null && generator=(-G Ninja)
  if cmake -S "$root" -B "$build" "${generator[@]}" "${cmake_args[@]}" \
       -DCMAKE_CUDA_ARCHITECTURES=$archs >"$out/configure.log" 2>&1 &&
     grep -q "CUDA backend ON" "$out/configure.log"; then
    record configure ok $((SECONDS - t0)) \
      "$(grep -m1 'CUDA backend ON' "$out/configure.log" | sed 's/^-- //'); $(grep -c 'from the kit\|built from the kit\|headers from the kit' "$out/configure.log") pieces from the kit"
  else
    record configure failed $((SECONDS - t0)) \
      "$(grep -m1 -E 'CMake Error|not found|nvcc' "$out/configure.log" | cut -c1-200): see configure.log"
    return 1
  fi
  t0=$SECONDS
  for src in "$root"/tests/gpu/*_test.cpp; do
    targets+=("gpu_$(basename "$src" .cpp)")
  done
  if timeout "$(limit "$budget" 60)" cmake --build "$build" -j "$jobs" --target "${targets[@]}" \
       >"$out/build.log" 2>&1; then
    record build ok $((SECONDS - t0)) "${#targets[@]} targets with $jobs jobs"
  else
    record build failed $((SECONDS - t0)) "$(grep -m1 -E 'error|FAILED' "$out/build.log" | cut -c1-200)"
    return 1
  fi
}

built=yes
if [[ $phase == build-test || ! -x "$build/danlu" || -z "$(gpu_tests)" ]]; then
  configure_and_build || built=no
else
  record build ok 0 "reused $build"
fi
danlu=$build/danlu

# ---- build-test: devices, the gpu tests, the sample on the GPU --------------------------
if [[ $phase == build-test && $built == yes ]]; then
  t0=$SECONDS
  "$danlu" devices >"$out/devices.txt" 2>&1
  usable=$(grep -c '^cuda:' "$out/devices.txt")
  if [[ -n "$gpu_name" && $usable -eq 0 ]]; then
    record devices failed $((SECONDS - t0)) "a GPU is visible but danlu cannot use it: $(grep -m1 'no usable GPU' "$out/devices.txt")"
  elif [[ -z "$gpu_name" ]]; then
    record devices no-gpu $((SECONDS - t0)) "$(grep -m1 'no usable GPU' "$out/devices.txt" | cut -c1-200)"
  else
    record devices ok $((SECONDS - t0)) "$(grep -m1 '^cuda:0' "$out/devices.txt")"
  fi

  t0=$SECONDS
  (cd "$build" && timeout "$(limit 300 20)" ctest -L gpu --output-on-failure -j 4 --timeout 240 \
     --output-junit "$out/ctest-junit.xml") >"$out/ctest.log" 2>&1
  rc=$?
  counts=$(python3 "$root/scripts/check-gpu-summary.py" --count-tests "$out/ctest-junit.xml" 2>/dev/null)
  read -r passed failed skipped <<<"${counts:-0 0 0}"
  detail="$passed passed, $failed failed, $skipped skipped"
  if [[ $rc -eq 124 ]]; then
    record ctest timeout $((SECONDS - t0)) "$detail when the time ran out"
  elif [[ -n "$gpu_name" && $passed -eq 0 ]]; then
    record ctest failed $((SECONDS - t0)) "a GPU is visible but no gpu test ran ($detail): $(grep -m1 -o 'Skipped.*\|SKIPPED.*' "$out/ctest.log")"
  elif [[ $rc -ne 0 ]]; then
    record ctest failed $((SECONDS - t0)) "$detail"
  elif [[ -z "$gpu_name" ]]; then
    record ctest no-gpu $((SECONDS - t0)) "$detail"
  else
    record ctest ok $((SECONDS - t0)) "$detail"
  fi

  t0=$SECONDS
  if [[ -z "$gpu_name" || $usable -eq 0 ]]; then
    record sample skipped 0 "needs a usable GPU"
  else
    timeout "$(limit 90 10)" "$build/fashion_mnist_cnn" 1 >"$out/sample.log" 2>&1
    rc=$?
    if [[ $rc -eq 0 ]] && grep -q 'device cuda:0' "$out/sample.log"; then
      record sample ok $((SECONDS - t0)) "$(grep -m1 '^epoch 1' "$out/sample.log")"
    else
      record sample failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/sample.log" | cut -c1-160)"
    fi
  fi
fi

# ---- perf: kernel profile, step profiles, PyTorch side by side, sanitizers ------------
if [[ $phase == perf && $built == yes ]]; then
  t0=$SECONDS
  if [[ -z "$gpu_name" ]]; then
    record profile skipped 0 "no GPU"
  else
    cap=$(limit 90 200)
    timeout "$cap" "$danlu" profile --shapes standard --iters 20 --json "$out/profile.json" \
      --roofline "$out/roofline.png" >"$out/profile.txt" 2>"$out/profile.err"
    rc=$?
    case $rc in
      0) record profile ok $((SECONDS - t0)) "$(grep -c '' "$out/profile.txt") lines in profile.txt" ;;
      124) record profile timeout $((SECONDS - t0)) "over $cap s" ;;
      *) record profile failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/profile.err")" ;;
    esac
  fi

  # Every rung of the convolution ladder beside cuDNN on ResNet-20's layers.
  t0=$SECONDS
  if [[ -z "$gpu_name" ]]; then
    record conv-ladder skipped 0 "no GPU"
  else
    cap=$(limit 60 160)
    timeout "$cap" "$danlu" profile --ops conv --shapes "$root/configs/cifar10_resnet20.json" \
      --conv-variant all --iters 10 --json "$out/conv-ladder.json" \
      --roofline "$out/conv-ladder.png" >"$out/conv-ladder.txt" 2>"$out/conv-ladder.err"
    rc=$?
    case $rc in
      0) record conv-ladder ok $((SECONDS - t0)) "$(grep -c '' "$out/conv-ladder.txt") lines in conv-ladder.txt" ;;
      124) record conv-ladder timeout $((SECONDS - t0)) "over $cap s" ;;
      *) record conv-ladder failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/conv-ladder.err")" ;;
    esac
  fi

  mkdir -p "$out/step-profile"
  for config in fashion_cnn fashion_resnet20; do
    t0=$SECONDS
    if [[ -z "$gpu_name" ]]; then
      record "step-profile:$config" skipped 0 "no GPU"
      continue
    fi
    cap=$(limit 40 180)
    timeout "$cap" "$danlu" train "$root/configs/$config.json" --profile 20 --device cuda:0 \
      --out "$out/step-profile/$config" >"$out/step-profile/$config.log" 2>&1
    rc=$?
    case $rc in
      0) record "step-profile:$config" ok $((SECONDS - t0)) \
           "$(grep -m1 '^step profile' "$out/step-profile/$config.log" | cut -c1-150)" ;;
      124) record "step-profile:$config" timeout $((SECONDS - t0)) "over $cap s" ;;
      *) record "step-profile:$config" failed $((SECONDS - t0)) \
           "exit $rc: $(tail -n1 "$out/step-profile/$config.log")" ;;
    esac
  done

  # Steps replayed from a CUDA Graph against the same steps launched op by op.
  mkdir -p "$out/cuda-graph"
  for config in fashion_cnn fashion_resnet20; do
    t0=$SECONDS
    if [[ -z "$gpu_name" ]]; then
      record "cuda-graph:$config" skipped 0 "no GPU"
      continue
    fi
    cap=$(limit 30 120)
    rates=()
    for graph in true false; do
      timeout "$cap" "$danlu" train "$root/configs/$config.json" --bench-steps 50 --device cuda:0 \
        --set cuda_graph=$graph >"$out/cuda-graph/$config-$graph.log" 2>&1
      rc=$?
      rates+=("$(tail -n1 "$out/cuda-graph/$config-$graph.log" |
        python3 -c 'import json, sys; print("%.0f" % json.load(sys.stdin)["images_per_second"])' 2>/dev/null || echo "exit $rc")")
    done
    record "cuda-graph:$config" ok $((SECONDS - t0)) \
      "images/s: graph ${rates[0]}, op by op ${rates[1]} (logs in cuda-graph/)"
  done

  t0=$SECONDS
  if [[ -z "$gpu_name" ]]; then
    record side-by-side skipped 0 "no GPU"
  elif ! python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    record side-by-side skipped 0 "python3 cannot import torch with CUDA"
  else
    cap=$(limit $([[ $compile == yes ]] && echo 300 || echo 120) 150)
    compile_flag=()
    [[ $compile == yes ]] && compile_flag=(--compile)
    timeout "$cap" python3 "$root/bench/pytorch_side_by_side.py" --device cuda --steps 50 \
      --repeats 2 "${compile_flag[@]}" --danlu "$danlu" --json "$out/side_by_side.json" \
      >"$out/side_by_side.txt" 2>&1
    rc=$?
    case $rc in
      0) record side-by-side ok $((SECONDS - t0)) "see side_by_side.txt" ;;
      124) record side-by-side timeout $((SECONDS - t0)) "over $cap s" ;;
      *) record side-by-side failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/side_by_side.txt")" ;;
    esac
  fi

  # The kernel tests only: training, profiler and cuDNN tests are slow under
  # the sanitizers and exercise the same kernels.
  kernel_tests=()
  while read -r exe; do
    case $(basename "$exe") in
      gpu_training_test | gpu_profiler_test | gpu_step_profile_test | gpu_cudnn_test) ;;
      *) kernel_tests+=("$exe") ;;
    esac
  done < <(gpu_tests)
  sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  mkdir -p "$out/sanitizer"
  tools=(memcheck racecheck initcheck synccheck)
  for i in "${!tools[@]}"; do
    tool=${tools[$i]}
    t0=$SECONDS
    if [[ -z "$gpu_name" ]]; then
      record "$tool" skipped 0 "no GPU"
      continue
    elif [[ -z "$sanitizer" ]]; then
      record "$tool" skipped 0 "compute-sanitizer not found (PATH, /usr/local/cuda/bin)"
      continue
    elif (($(left) < 25)); then
      record "$tool" skipped 0 "time budget spent"
      continue
    fi
    # An equal share of what is left for this tool and those after it;
    # eight executables at a time share the GPU until the deadline.
    deadline=$(($(date +%s) + ($(left) - 15) / (${#tools[@]} - i)))
    : >"$out/sanitizer/$tool.tsv"
    for exe in "${kernel_tests[@]}"; do
      echo "$exe"
    done | xargs -P 8 -I{} bash -c '
      exe=$1; name=$(basename "$exe"); log="$2/$3-$name.log"; seconds=$(($4 - $(date +%s)))
      if ((seconds < 5)); then echo "not started: time budget spent" >"$log"; rc=124
      else timeout "$seconds" "$5" --tool "$3" --error-exitcode 99 "$exe" --gtest_brief=1 >"$log" 2>&1; rc=$?; fi
      errors=$(grep -oE "ERROR SUMMARY: [0-9]+" "$log" | tail -n1 | grep -oE "[0-9]+$")
      printf "%s\t%s\t%s\n" "$name" "$rc" "$errors"' _ {} "$out/sanitizer" "$tool" "$deadline" "$sanitizer" \
      >>"$out/sanitizer/$tool.tsv"
    total=$(awk -F'\t' '{s += $3} END {print s + 0}' "$out/sanitizer/$tool.tsv")
    unfinished=$(awk -F'\t' '$3 == "" {printf "%s ", $1}' "$out/sanitizer/$tool.tsv")
    bad=$(awk -F'\t' '$3 != "" && ($3 != 0 || $2 != 0) {printf "%s(exit %s, %s errors) ", $1, $2, $3}' \
      "$out/sanitizer/$tool.tsv")
    if [[ -n "$bad" ]]; then
      record "$tool" failed $((SECONDS - t0)) "$total errors: $bad"
    elif [[ -n "$unfinished" ]]; then
      record "$tool" timeout $((SECONDS - t0)) "0 errors so far; unfinished: $unfinished"
    else
      record "$tool" ok $((SECONDS - t0)) "0 errors in ${#kernel_tests[@]} executables"
    fi
  done
fi

# ---- the verdict --------------------------------------------------------------------
trap - INT TERM
times >"$out/times.txt"  # the CPU seconds of this shell and its children
summarize --final
case $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out/summary.json" 2>/dev/null) in
  ok) exit 0 ;;
  no-gpu) exit 3 ;;
  *) exit 1 ;;
esac
