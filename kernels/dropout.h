// Inverted dropout kernels. The mask is never stored: element i is kept iff
// philox_uniform(seed, offset, i) >= p, so the backward (and the CUDA kernel)
// regenerate exactly the same mask from (seed, offset).
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels {
namespace cpu {

// y[i] = keep(i) ? x[i] * scale : 0, with scale = 1 / (1 - p) (0 when p == 1).
// p is compared as a float, the type philox_uniform returns, on every backend.
template <class T>
void dropout_forward(const T* x /*(n)*/, T* y /*(n)*/, int64_t n, float p, T scale,
                     uint64_t seed, uint64_t offset);

// dx[i] = keep(i) ? dy[i] * scale : 0, the same mask as the forward.
template <class T>
void dropout_backward(const T* dy /*(n)*/, T* dx /*(n)*/, int64_t n, float p, T scale,
                      uint64_t seed, uint64_t offset);

}  // namespace cpu

// The same kernels on a GPU (f32, device pointers, enqueued on `stream`): the
// mask for a given (seed, offset) equals the CPU's bit for bit. In a step
// captured into a CUDA Graph the offset is *offset_base + offset, the base
// being a device scalar set before each launch (engine/cuda_graph.h's
// reserve_philox); null offset_base: the offset alone.
namespace cuda {

void dropout_forward(const float* x, float* y, int64_t n, float p, float scale, uint64_t seed,
                     const uint64_t* offset_base, uint64_t offset, Stream stream);
void dropout_backward(const float* dy, float* dx, int64_t n, float p, float scale,
                      uint64_t seed, const uint64_t* offset_base, uint64_t offset, Stream stream);

}  // namespace cuda
}  // namespace danlu::kernels
