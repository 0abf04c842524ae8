// Fill: every element of a buffer set to one value, the kernel behind
// Tensor::fill_ and the zeros/ones/full factories on a GPU (the CPU path is
// std::fill). It works on bit patterns, so one kernel serves every dtype of
// its width: 32-bit words for f32, 64-bit words for f64 and i64.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels::cuda {

void fill32(uint32_t* data, int64_t n, uint32_t bits, Stream stream);
void fill64(uint64_t* data, int64_t n, uint64_t bits, Stream stream);

}  // namespace danlu::kernels::cuda
