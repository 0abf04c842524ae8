// The CUDA stream a kernel runs on, named without the CUDA headers so that
// kernels/<family>.h stays includable from CPU-only code. It is the same type
// as cudaStream_t; nullptr is the legacy default stream.
#pragma once

struct CUstream_st;

namespace danlu::kernels {
using Stream = CUstream_st*;
}  // namespace danlu::kernels
