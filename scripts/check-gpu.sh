#!/usr/bin/env bash
# Checks the CUDA backend on a GPU machine, in about 6 minutes on one H100/H200:
#   scripts/check-gpu.sh OUTDIR
# 1. configures a Release build for the local GPU (build/check-gpu) and builds
#    the gpu tests, the benchmarks and the CLI with every core;
# 2. runs `ctest -L gpu` (OUTDIR/ctest.log, OUTDIR/ctest-junit.xml);
# 3. runs every benchmark executable built from bench/*.cpp (OUTDIR/bench/);
#    a benchmark prints its result as a JSON line last on stdout and exits
#    with 77 when it cannot run here (its last stderr line says why);
# 4. runs `danlu profile --shapes standard` (OUTDIR/profile.json and
#    profile.txt; at most 60 s): every kernel against cuDNN and the roofline;
# 5. profiles 20 training steps of configs/fashion_cnn.json and
#    configs/fashion_resnet20.json layer by layer (`danlu train --profile`,
#    OUTDIR/step-profile/<config>/profile.{txt,json}; at most 25 s each);
# 6. times both configs' training steps beside PyTorch on the same GPU
#    (bench/pytorch_side_by_side.py, OUTDIR/side_by_side.{txt,json}; at most
#    90 s; skipped when python3 cannot import torch with CUDA);
# 7. runs each gpu test executable under compute-sanitizer memcheck and
#    racecheck (OUTDIR/sanitizer/), counting the errors each reports;
# 8. writes OUTDIR/summary.json and prints a short summary.
# Every step's status lands in the summary, also when it fails or is skipped
# (no GPU, no compute-sanitizer, or the time budget spent); the exit status
# is 0 only when every step that ran passed. cuDNN and cuBLAS are taken from
# the CUDA toolkit or, failing that, from Python's nvidia-* pip packages.
# DANLU_CHECK_BUDGET_S (default 330) bounds the seconds spent in total.
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
build="$root/build/check-gpu"
budget=${DANLU_CHECK_BUDGET_S:-330}
start=$SECONDS
jobs=$(nproc)
steps="$out/steps.tsv"  # name, status, seconds, detail: one line per step
: >"$steps"
mkdir -p "$out/bench" "$out/sanitizer"

log() { echo "check-gpu: $*"; }
left() { echo $((budget - (SECONDS - start))); }
at_least() { echo $(($1 > $2 ? $1 : $2)); }  # `timeout 0` would mean no limit at all
# record NAME STATUS SECONDS DETAIL
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" >>"$steps"; }

# ---- the machine ------------------------------------------------------------
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)
if [[ -n "$gpu_name" ]]; then
  log "GPU: $gpu_name"
  record machine ok 0 "$gpu_name, $jobs cores"
else
  log "no GPU visible to nvidia-smi: gpu tests will skip, sanitizers will not run"
  record machine no-gpu 0 "no GPU visible to nvidia-smi, $jobs cores"
fi

if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

# Python's nvidia-* wheels (as PyTorch installs them) carry cuDNN and cuBLAS
# in site-packages/nvidia/<lib>/{include,lib}; the loader and CMake need to
# be told. The wheels ship only versioned files (libcudnn.so.9), which
# find_library's plain name does not match, so cuDNN is named explicitly.
cmake_hints=()
pip_dirs=$(python3 - <<'EOF' 2>/dev/null
import importlib, os
for name in ("cudnn", "cublas", "cuda_runtime", "cuda_nvrtc", "nvtx"):
    try:
        module = importlib.import_module("nvidia." + name)
    except ImportError:
        continue
    paths = list(getattr(module, "__path__", [])) or [os.path.dirname(module.__file__ or "")]
    for path in paths:
        if os.path.isdir(os.path.join(path, "lib")):
            print(name, path)
EOF
)
while read -r name dir; do
  [[ -n "${name:-}" ]] || continue
  export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if [[ "$name" == cudnn ]] && ! ls /usr/local/cuda/lib64/libcudnn.so* >/dev/null 2>&1 &&
     ! ldconfig -p 2>/dev/null | grep -q 'libcudnn\.so'; then
    lib=
    for f in "$dir"/lib/libcudnn.so*; do [[ -e "$f" ]] && lib=$f && break; done
    if [[ -n "$lib" ]]; then
      export CUDNN_ROOT="$dir"
      cmake_hints+=("-DDANLU_CUDNN_LIBRARY=$lib")
    fi
  fi
done <<<"$pip_dirs"
pip_names=$(echo "$pip_dirs" | awk 'NF {printf "%s%s", sep, $1; sep = " "}')
record libraries ok 0 "pip nvidia packages: ${pip_names:-none}${CUDNN_ROOT:+ (cuDNN from $CUDNN_ROOT)}"

# ---- configure and build ------------------------------------------------------
t0=$SECONDS
archs=()
[[ -n "$gpu_name" ]] && archs=(-DCMAKE_CUDA_ARCHITECTURES=native)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
# Warnings stay warnings here: CI enforces them, and a newer nvcc's new
# warning must not stop the GPU checks.
if cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDANLU_WERROR=OFF \
     "${archs[@]}" "${launcher[@]}" "${cmake_hints[@]}" >"$out/configure.log" 2>&1; then
  if grep -q "CUDA backend ON" "$out/configure.log"; then
    record configure ok $((SECONDS - t0)) "$(grep -m1 'CUDA backend ON' "$out/configure.log" | sed 's/^-- //')"
  else
    record configure failed $((SECONDS - t0)) "configured without the CUDA backend (nvcc not found?): see configure.log"
  fi
else
  record configure failed $((SECONDS - t0)) "cmake failed: see configure.log"
fi

t0=$SECONDS
built=no
if [[ -f "$build/CMakeCache.txt" ]]; then
  targets=()
  for src in "$root"/tests/gpu/*_test.cpp "$root"/bench/*.cpp; do
    [[ -e "$src" ]] || continue
    name=$(basename "$src" .cpp)
    [[ "$src" == */tests/gpu/* ]] && name="gpu_$name"
    targets+=("$name")
  done
  if cmake --build "$build" -j "$jobs" --target danlu_cli "${targets[@]}" >"$out/build.log" 2>&1; then
    built=yes
    record build ok $((SECONDS - t0)) "${#targets[@]} test and benchmark targets"
  else
    record build failed $((SECONDS - t0)) "$(grep -m1 -E 'error|FAILED' "$out/build.log" | cut -c1-200)"
  fi
else
  record build skipped 0 "not configured"
fi
log "configured and built in $((SECONDS - start)) s"

gpu_tests=()
for exe in "$build"/tests/gpu_*; do
  [[ -x "$exe" && -f "$exe" ]] && gpu_tests+=("$exe")
done

# ---- ctest -L gpu -------------------------------------------------------------
t0=$SECONDS
if [[ $built == yes ]]; then
  (cd "$build" && timeout "$(at_least $(($(left) - 30)) 60)" ctest -L gpu --output-on-failure -j 4 --timeout 300 \
     --output-junit "$out/ctest-junit.xml") >"$out/ctest.log" 2>&1
  rc=$?
  line=$(grep -E 'tests passed|No tests were found' "$out/ctest.log" | tail -n1)
  if [[ $rc -eq 124 ]]; then
    record ctest timeout $((SECONDS - t0)) "ran out of the time budget"
  elif [[ $rc -eq 0 && -n "$line" ]]; then
    record ctest ok $((SECONDS - t0)) "$line"
  else
    record ctest failed $((SECONDS - t0)) "${line:-ctest exited with $rc}"
  fi
else
  record ctest skipped 0 "nothing built"
fi

# ---- benchmarks -----------------------------------------------------------------
for src in "$root"/bench/*.cpp; do
  [[ -e "$src" ]] || continue
  name=$(basename "$src" .cpp)
  exe="$build/$name"
  t0=$SECONDS
  if [[ ! -x "$exe" ]]; then
    record "bench:$name" skipped 0 "not built"
    continue
  fi
  if (($(left) < 40)); then
    record "bench:$name" skipped 0 "time budget spent"
    continue
  fi
  timeout 120 "$exe" >"$out/bench/$name.out" 2>"$out/bench/$name.err"
  rc=$?
  case $rc in
    0) record "bench:$name" ok $((SECONDS - t0)) "$(tail -n1 "$out/bench/$name.out")" ;;
    77) record "bench:$name" skipped $((SECONDS - t0)) "$(tail -n1 "$out/bench/$name.err")" ;;
    124) record "bench:$name" timeout $((SECONDS - t0)) "over 120 s" ;;
    *) record "bench:$name" failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/bench/$name.err")" ;;
  esac
done

# ---- kernel profile ---------------------------------------------------------------
# danlu profile exits 3 when it cannot measure (no usable GPU): its one
# stderr line says why.
t0=$SECONDS
if [[ ! -x "$build/danlu" ]]; then
  record profile skipped 0 "danlu not built"
elif (($(left) < 40)); then
  record profile skipped 0 "time budget spent"
else
  limit=$(($(left) - 30 < 60 ? $(left) - 30 : 60))
  timeout "$(at_least "$limit" 10)" "$build/danlu" profile --shapes standard --iters 20 \
    --json "$out/profile.json" >"$out/profile.txt" 2>"$out/profile.err"
  rc=$?
  case $rc in
    0) record profile ok $((SECONDS - t0)) "$(grep -c '' "$out/profile.txt") lines in profile.txt" ;;
    3) record profile skipped $((SECONDS - t0)) "$(tail -n1 "$out/profile.err")" ;;
    124) record profile timeout $((SECONDS - t0)) "over $limit s" ;;
    *) record profile failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/profile.err")" ;;
  esac
fi

# ---- training-step profiles ------------------------------------------------------
mkdir -p "$out/step-profile"
for config in fashion_cnn fashion_resnet20; do
  t0=$SECONDS
  dir="$out/step-profile/$config"
  if [[ ! -x "$build/danlu" || -z "$gpu_name" ]]; then
    record "step-profile:$config" skipped 0 "needs the danlu binary and a GPU"
    continue
  elif (($(left) < 40)); then
    record "step-profile:$config" skipped 0 "time budget spent"
    continue
  fi
  timeout 25 "$build/danlu" train "$root/configs/$config.json" --profile 20 --device cuda:0 \
    --out "$dir" >"$out/step-profile/$config.log" 2>&1
  rc=$?
  case $rc in
    0) record "step-profile:$config" ok $((SECONDS - t0)) \
         "$(grep -m1 '^step profile' "$out/step-profile/$config.log" | cut -c1-150)" ;;
    124) record "step-profile:$config" timeout $((SECONDS - t0)) "over 25 s" ;;
    *) record "step-profile:$config" failed $((SECONDS - t0)) \
         "exit $rc: $(tail -n1 "$out/step-profile/$config.log")" ;;
  esac
done

# ---- danlu beside PyTorch -----------------------------------------------------------
t0=$SECONDS
if [[ ! -x "$build/danlu" || -z "$gpu_name" ]]; then
  record side-by-side skipped 0 "needs the danlu binary and a GPU"
elif ! python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  record side-by-side skipped 0 "python3 cannot import torch with CUDA"
elif (($(left) < 60)); then
  record side-by-side skipped 0 "time budget spent"
else
  limit=$(($(left) - 40 < 90 ? $(left) - 40 : 90))
  timeout "$(at_least "$limit" 20)" python3 "$root/bench/pytorch_side_by_side.py" --device cuda \
    --steps 50 --repeats 2 --danlu "$build/danlu" --json "$out/side_by_side.json" \
    >"$out/side_by_side.txt" 2>&1
  rc=$?
  case $rc in
    0) record side-by-side ok $((SECONDS - t0)) "see side_by_side.txt" ;;
    124) record side-by-side timeout $((SECONDS - t0)) "over $limit s" ;;
    *) record side-by-side failed $((SECONDS - t0)) "exit $rc: $(tail -n1 "$out/side_by_side.txt")" ;;
  esac
fi

# ---- compute-sanitizer ------------------------------------------------------------
sanitizer=$(command -v compute-sanitizer)
for candidate in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
  [[ -z "$sanitizer" && -x "$candidate" ]] && sanitizer=$candidate
done
# One executable under one tool until the DEADLINE (seconds since the epoch);
# the log's ERROR SUMMARY gives the count, and a run cut short has none.
sanitize() {  # TOOL EXE DEADLINE
  local tool=$1 exe=$2 deadline=$3 name log rc errors
  name=$(basename "$exe")
  log="$out/sanitizer/$tool-$name.log"
  if (($(date +%s) + 5 >= deadline)); then
    echo "not started: time budget spent" >"$log"
    printf '%s	%s	%s	%s
' "$name" 124 "" "$log"
    return
  fi
  timeout $((deadline - $(date +%s))) "$sanitizer" --tool "$tool" --error-exitcode 99 "$exe" --gtest_brief=1 \
    >"$log" 2>&1
  rc=$?
  errors=$(grep -oE 'ERROR SUMMARY: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+$')
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "${errors:-}" "$log"
}
export -f sanitize
export out sanitizer
for tool in memcheck racecheck; do
  t0=$SECONDS
  if [[ -z "$gpu_name" ]]; then
    record "$tool" skipped 0 "no GPU"
  elif [[ -z "$sanitizer" ]]; then
    record "$tool" skipped 0 "compute-sanitizer not found (PATH, /usr/local/cuda)"
  elif ((${#gpu_tests[@]} == 0)); then
    record "$tool" skipped 0 "no gpu test executables built"
  elif (($(left) < 30)); then
    record "$tool" skipped 0 "time budget spent"
  else
    # Four at a time share the GPU until a deadline: what is left of the
    # budget, halved for memcheck so that racecheck keeps its share.
    seconds=$(($(left) - 10))
    [[ $tool == memcheck ]] && seconds=$((seconds / 2))
    deadline=$(($(date +%s) + seconds))
    printf '%s\n' "${gpu_tests[@]}" |
      xargs -P 4 -I{} bash -c "sanitize $tool {} $deadline" >"$out/sanitizer/$tool.tsv"
    total=$(awk -F'\t' '{s += $3} END {print s + 0}' "$out/sanitizer/$tool.tsv")
    bad=$(awk -F'\t' '$3 == "" || $2 != 0 {printf "%s(exit %s) ", $1, $2}' "$out/sanitizer/$tool.tsv")
    if [[ -z "$bad" && $total -eq 0 ]]; then
      record "$tool" ok $((SECONDS - t0)) "0 errors in ${#gpu_tests[@]} executables"
    else
      record "$tool" failed $((SECONDS - t0)) "$total errors; not clean: ${bad:-see logs}"
    fi
  fi
done

# ---- summary ---------------------------------------------------------------------
elapsed=$((SECONDS - start))
record total "$(awk -F'\t' '$2 == "failed" || $2 == "timeout" {f = 1} END {print f ? "failed" : "ok"}' "$steps")" \
  "$elapsed" "$( ((elapsed > budget)) && echo "OVER the ${budget} s budget" || echo "within the ${budget} s budget")"
python3 - "$out" <<'EOF' || log "python3 missing or failed: summary.json not written, see steps.tsv"
import json, os, sys
import xml.etree.ElementTree as ET

out = sys.argv[1]
steps = []
for line in open(os.path.join(out, "steps.tsv")):
    name, status, seconds, detail = line.rstrip("\n").split("\t", 3)
    steps.append({"step": name, "status": status, "seconds": int(seconds), "detail": detail})

tests = {"passed": 0, "failed": 0, "skipped": 0, "failed_names": []}
junit = os.path.join(out, "ctest-junit.xml")
if os.path.exists(junit):
    for case in ET.parse(junit).getroot().iter("testcase"):
        status = case.get("status", "run")
        if case.find("failure") is not None or status == "fail":
            tests["failed"] += 1
            tests["failed_names"].append(case.get("name"))
        elif case.find("skipped") is not None or status in ("notrun", "disabled"):
            tests["skipped"] += 1
        else:
            tests["passed"] += 1

sanitizers = {}
for tool in ("memcheck", "racecheck"):
    path = os.path.join(out, "sanitizer", tool + ".tsv")
    if not os.path.exists(path):
        continue
    runs = {}
    for line in open(path):
        name, rc, errors, log = line.rstrip("\n").split("\t")
        runs[name] = {"exit": int(rc), "errors": int(errors) if errors else None,
                      "log": os.path.relpath(log, out)}
    sanitizers[tool] = {"errors": sum(r["errors"] or 0 for r in runs.values()),
                        "unfinished": sorted(n for n, r in runs.items() if r["errors"] is None),
                        "runs": runs}

benchmarks = {}
for step in steps:
    if not step["step"].startswith("bench:"):
        continue
    name = step["step"][6:]
    result = None
    path = os.path.join(out, "bench", name + ".out")
    if step["status"] == "ok" and os.path.exists(path):
        for line in reversed(open(path).read().splitlines()):
            try:
                result = json.loads(line)
                break
            except ValueError:
                continue
    benchmarks[name] = {"status": step["status"], "result": result, "detail": step["detail"]}

# danlu profile: per op and direction the median ours/cuDNN ratio (where a
# vendor kernel ran) and per op the median roofline fraction.
def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

profile = None
path = os.path.join(out, "profile.json")
if os.path.exists(path):
    report = json.load(open(path))
    rows = report["rows"]
    ratios, fractions = {}, {}
    for row in rows:
        key = row["op"] + " " + row["direction"] + ("" if row["math"] == "fp32" else " " + row["math"])
        ratios.setdefault(key, []).append(row["ratio_ours_vendor"])
        fractions.setdefault(row["op"], []).append(row["roofline_fraction"])
    profile = {"device": report["device"]["name"], "rows": len(rows),
               "bandwidth_gbps": report["roofline"]["bandwidth_gbps"],
               "peak_fp32_tflops": report["roofline"]["peak_fp32_tflops"],
               "peak_tf32_tflops": report["roofline"]["peak_tf32_tflops"],
               "median_ratio_ours_vendor": {k: median(v) for k, v in ratios.items()
                                            if median(v) is not None},
               "median_roofline_fraction": {k: median(v) for k, v in fractions.items()}}

# Training-step profiles: per config the step time and the five costliest rows.
step_profiles = {}
for config in ("fashion_cnn", "fashion_resnet20"):
    path = os.path.join(out, "step-profile", config, "profile.json")
    if os.path.exists(path):
        report = json.load(open(path))
        step_profiles[config] = {
            "step_ms": report["step_ms"], "gpu_step_ms": report.get("gpu_step_ms"),
            "top": [[r["scope"], r["pass"], r.get("gpu_ms", r["host_ms"])] for r in report["rows"][:5]]}

side_by_side = None
path = os.path.join(out, "side_by_side.json")
if os.path.exists(path):
    side_by_side = json.load(open(path))

summary = {"ok": steps[-1]["status"] == "ok", "steps": steps, "gpu_tests": tests,
           "sanitizers": sanitizers, "benchmarks": benchmarks, "profile": profile,
           "step_profiles": step_profiles, "side_by_side": side_by_side}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)

print("\n==== danlu GPU check: %s ====" % ("OK" if summary["ok"] else "FAILED"))
for s in steps:
    print("  %-24s %-8s %4d s  %s" % (s["step"], s["status"], s["seconds"], s["detail"][:110]))
print("  gpu tests: %d passed, %d failed, %d skipped" % (tests["passed"], tests["failed"],
                                                          tests["skipped"]))
for name in tests["failed_names"][:10]:
    print("    failed: " + name)
for tool, s in sanitizers.items():
    print("  %s: %d errors%s" % (tool, s["errors"],
          ", unfinished: " + " ".join(s["unfinished"]) if s["unfinished"] else ""))
for config, p in step_profiles.items():
    print("  step profile %s: %.3f ms per step (GPU %s ms); top: %s" % (
        config, p["step_ms"], "%.3f" % p["gpu_step_ms"] if p["gpu_step_ms"] else "-",
        "; ".join("%s %s %.3f" % tuple(row) for row in p["top"][:3])))
if profile:
    print("  profile: %d rows; median ours/cuDNN: %s" % (profile["rows"], ", ".join(
        "%s %.2f" % (k, v) for k, v in profile["median_ratio_ours_vendor"].items()) or "-"))
print("  logs and summary.json in " + out)
EOF
[[ $(tail -n1 "$steps" | cut -f2) == ok ]]
