#!/bin/bash
# `danlu train` as processes: a second process on a run directory in use is
# refused with the holder's pid; SIGTERM finishes the step, writes an intact
# checkpoint (its checksum verified by eval) and exits 143; a run whose
# metrics.jsonl is on a full device stops with the path and the reason.
# Run as: train_process_test.sh DANLU CONFIG WORK_DIR
set -u
danlu=$1 config=$2 work=$3
fail() { echo "FAIL: $*"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; exit 1; }
rm -rf "$work" && mkdir -p "$work"
run="$work/run"
small=(--device cpu --set data.train_limit=512 --set data.test_limit=64 --set batch_size=64
       --set log_every=1 --set data.num_workers=0)

"$danlu" train "$config" --out "$run" "${small[@]}" --set epochs=1000 >"$work/first.out" 2>&1 &
pid=$!
for _ in $(seq 600); do  # up to 60 s for the first logged step
  grep -q '"kind":"step"' "$run/metrics.jsonl" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "the first run ended early: $(cat "$work/first.out")"
  sleep 0.1
done
grep -q '"kind":"step"' "$run/metrics.jsonl" || fail "no step logged within 60 s"

second=$("$danlu" train "$config" --out "$run" --overwrite "${small[@]}" 2>&1) &&
  fail "a second process on $run was not refused: $second"
[[ $second == *"another danlu process (pid $pid)"* ]] || fail "the refusal does not name pid $pid: $second"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 143 ] || fail "SIGTERM: exit status $rc, expected 143: $(cat "$work/first.out")"
grep -q -- "--resume $run/last.safetensors" "$work/first.out" || fail "no resume hint: $(cat "$work/first.out")"
"$danlu" eval "$config" --weights "$run/last.safetensors" --device cpu --set data.test_limit=64 \
  >"$work/eval.out" 2>&1 || fail "the SIGTERM checkpoint does not load: $(cat "$work/eval.out")"

full="$work/full"
mkdir -p "$full" && ln -s /dev/full "$full/metrics.jsonl"
"$danlu" train "$config" --out "$full" --resume "$run/last.safetensors" "${small[@]}" \
  --set epochs=1000 >"$work/full.out" 2>&1 && fail "a run logging to /dev/full succeeded"
grep -q "danlu: error: cannot write a record to $full/metrics.jsonl: No space left on device" \
  "$work/full.out" || fail "the full device is not reported: $(cat "$work/full.out")"
echo "ok"
