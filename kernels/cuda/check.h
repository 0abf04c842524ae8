// DANLU_CUDA_CHECK for host code compiled by either compiler: engine/ files
// and gpu tests (built by the C++ compiler) include this instead of
// launch.cuh, whose <<<...>>> only nvcc can parse.
#pragma once

#include <cuda_runtime_api.h>

// Throws danlu::Error naming the call, file:line and what to do when a CUDA
// runtime call fails.
#define DANLU_CUDA_CHECK(call) \
  ::danlu::kernels::cuda::check_cuda((call), #call, __FILE__, __LINE__)

namespace danlu::kernels::cuda {

// Throws danlu::Error when status != cudaSuccess (clears the sticky error).
void check_cuda(cudaError_t status, const char* call, const char* file, int line);

}  // namespace danlu::kernels::cuda
