#!/bin/bash
# Data-parallel training under MPI (docs/distributed.md): two ranks of
# per-rank batch 32 match one process of batch 64 step by step (losses and
# final weights within RTOL below; the network is smooth, SiLU and average
# pooling, because a ReLU or max-pool kink turns last-bit differences into
# jumps: docs/distributed.md), a two-rank run resumed from its step-4
# checkpoint ends bit for bit where the uninterrupted run does (the sharded
# final evaluation included), a checkpoint of two ranks does not resume in
# one process, and a bad input on every rank ends the job with one error
# instead of a hang.
# Run as: distributed_train_test.sh DANLU COMPARE_RUNS MPIRUN WITH_MPI CONFIG WORK_DIR
set -u
danlu=$1 compare=$2 mpirun=$3 with_mpi=$4 config=$5 work=$6
if [[ $with_mpi != ON || ! -x $mpirun ]]; then
  echo "skipped: danlu was built without MPI or mpirun is missing (install libopenmpi-dev openmpi-bin, reconfigure)"
  exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI containers run as root
two_ranks() { timeout 60 "$mpirun" -np 2 --oversubscribe --bind-to none "$danlu" train "$config" "$@"; }
rm -rf "$work" && mkdir -p "$work"
# Evaluation batches of 64 per rank: the 200 test images make two global
# batches of 128, the second leaving rank 1 a slice of 8.
small=(--set data.train_limit=1024 --set data.test_limit=200 --set eval_batch_size=64)

# One thread per process on both sides: the CPU kernels' sums depend on the
# thread count, and a 1- against a 2-thread single process already differ
# by 4e-4 in the loss after 8 steps. With that fixed, the only difference is
# each batch sum split into two halves added at the end: float rounding,
# measured 6e-8 in the losses and 3e-6 in the momentum buffers after 8 steps.
# rtol 3e-5 keeps a 10x margin; unsynchronised BatchNorm (model.sync_bn
# false) misses it by 2e-2 in the losses and 0.5 in the buffers.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
rtol=3e-5
"$danlu" train "$config" --out "$work/one" "${small[@]}" --set batch_size=64 >"$work/one.out" 2>&1 ||
  fail "one process: $(cat "$work/one.out")"
two_ranks --out "$work/two" "${small[@]}" >"$work/two.out" 2>&1 || fail "two ranks: $(cat "$work/two.out")"
grep -q "^data parallel: 2 ranks, gradients averaged over MPI in buckets of 4 MB while the backward runs$" \
  "$work/two.out" || fail "no data-parallel line in the run header: $(cat "$work/two.out")"
"$compare" "$work/one" "$work/two" "$rtol" || fail "two ranks do not match one process"

two_ranks --out "$work/resumed" "${small[@]}" --set max_steps=4 >"$work/first.out" 2>&1 ||
  fail "the first half: $(cat "$work/first.out")"
two_ranks --resume "$work/resumed/last.safetensors" "${small[@]}" >"$work/second.out" 2>&1 ||
  fail "the resumed half: $(cat "$work/second.out")"
grep -q "steps 4 to 8 (resumed)" "$work/second.out" || fail "no resume from step 4: $(cat "$work/second.out")"
"$compare" "$work/two" "$work/resumed" 0 5 || fail "the resumed run is not bit-exact"

"$danlu" train "$config" --resume "$work/resumed/last.safetensors" "${small[@]}" --set max_steps=9 \
  >"$work/alone.out" 2>&1 && fail "a two-rank checkpoint resumed in one process"
grep -q "danlu: error: .*saved by a run of 2 data-parallel ranks, resumed with 1; resume it with mpirun -np 2" \
  "$work/alone.out" || fail "no one-line error for the rank count: $(cat "$work/alone.out")"

two_ranks --out "$work/bad" --set data.train_limit=40 >"$work/bad.out" 2>&1 && fail "40 examples trained"
grep -q "danlu: error: .*fewer than one global batch of 64 (2 ranks x batch_size 32)" "$work/bad.out" ||
  fail "no one-line error for too little data: $(cat "$work/bad.out")"
echo "ok"
