// Counting the host's waits for the GPU, and its kernel launches. A training step on a GPU should
// never make the host wait: the host queues step after step, and reads a
// loss back only at log steps. Every CUDA runtime call that blocks the host
// until the device has caught up (cudaDeviceSynchronize, cudaStreamSynchronize,
// cudaEventSynchronize, and the synchronous cudaMemcpy, cudaMemset, cudaMalloc,
// cudaFree, cudaMallocHost, cudaHostAlloc, cudaFreeHost) adds one to a
// process-wide count:
//   - on a GPU, through the linker (--wrap: each of those calls, from any of
//     danlu's objects, goes through a counting wrapper in sync_check.cpp);
//   - in the emulated build, in the emulated runtime itself
//     (kernels/emulated/blocking_calls.h).
// DANLU_SYNC_CHECK=1 makes `danlu train` write each step's count to
// metrics.jsonl and print a summary (train/trainer.cpp).
#pragma once

#include <cstdint>

namespace danlu {

// Blocking CUDA runtime calls so far in this process; 0 in a CPU-only build.
int64_t blocking_cuda_calls();

// GPU kernel launches so far in this process: each launch() of a danlu kernel
// (kernels/cuda/launch.cuh) and each cuBLAS call, which may start more than
// one kernel, counts one. The step profile divides both counts by the steps.
int64_t kernel_launches();
void count_kernel_launch();

// Whether DANLU_SYNC_CHECK=1 is set.
bool sync_check_enabled();

}  // namespace danlu
