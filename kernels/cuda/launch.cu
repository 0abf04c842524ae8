// check_cuda: a failed CUDA runtime call becomes one danlu::Error line.
#include "kernels/cuda/launch.cuh"

#include "engine/error.h"

namespace danlu::kernels::cuda {

void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  if (status == cudaErrorMemoryAllocation)
    throw OutOfMemory(detail::concat(call, " failed at ", file, ":", line, ": the GPU is out of memory"));
  const char* advice = status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver
                           ? "no usable GPU: run with --device cpu"
                           : "run under compute-sanitizer to find the faulting kernel";
  DANLU_FAIL(call, " failed at ", file, ":", line, ": ", cudaGetErrorString(status), " (",
             advice, ")");
}

}  // namespace danlu::kernels::cuda
