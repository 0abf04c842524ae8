// The cuBLAS plumbing GEMM stands on: one handle per device, each call bound
// to the caller's stream, and DANLU_CUBLAS_CHECK around every cuBLAS call.
#pragma once

#include <cublas_v2.h>

#include "kernels/stream.h"

// Throws danlu::Error naming the call, file:line and what to do when a cuBLAS
// call fails.
#define DANLU_CUBLAS_CHECK(call) \
  ::danlu::kernels::cuda::check_cublas((call), #call, __FILE__, __LINE__)

namespace danlu::kernels::cuda {

void check_cublas(cublasStatus_t status, const char* call, const char* file, int line);

// The current device's handle (created at first use), bound to `stream` and
// set to TF32 or full-precision float math as set_gemm_tf32 last said. Call
// it once per cuBLAS call: it counts the call as a launch (engine/sync_check.h).
cublasHandle_t cublas_handle(Stream stream);

}  // namespace danlu::kernels::cuda
