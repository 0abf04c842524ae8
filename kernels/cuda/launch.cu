// check_cuda: a failed CUDA runtime call becomes one danlu::Error line.
#include "kernels/cuda/launch.cuh"

#include "engine/error.h"

namespace danlu::kernels::cuda {

void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  const char* advice = status == cudaErrorMemoryAllocation
                           ? "the GPU is out of memory: try a smaller batch size"
                       : status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver
                           ? "no usable GPU: run with --device cpu"
                           : "run under compute-sanitizer to find the faulting kernel";
  DANLU_FAIL(call, " failed at ", file, ":", line, ": ", cudaGetErrorString(status), " (",
             advice, ")");
}

}  // namespace danlu::kernels::cuda
