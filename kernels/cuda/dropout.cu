// CUDA dropout: the CPU's mask, computed in place. Element i is kept iff word
// i % 4 of the Philox block (offset + i / 4) gives a uniform >= p, so one
// Philox call serves four neighbouring elements.
#include "kernels/dropout.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/philox.h"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;

// out[i] = keep(i) ? in[i] * scale : 0. Each thread handles whole Philox
// blocks (four elements) in a grid-stride loop: one Philox call, then a
// float4 load/store when `vec4` (pointers 16-byte aligned and the block
// complete), else four scalar ones. The stream starts at *offset_base +
// offset (offset alone without a base).
__global__ void masked_scale_kernel(const float* in, float* out, int64_t n, float p, float scale,
                                    uint64_t seed, const uint64_t* offset_base, uint64_t offset,
                                    bool vec4) {
  if (offset_base) offset += *offset_base;
  const int64_t blocks = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < blocks;
       g += stride) {
    const Philox4 r = philox4x32(offset + static_cast<uint64_t>(g), 0, seed);
    const int64_t i = g * 4;
    if (vec4 && i + 4 <= n) {
      const float4 v = reinterpret_cast<const float4*>(in)[g];
      reinterpret_cast<float4*>(out)[g] =
          make_float4(uniform_from_bits(r.v[0]) >= p ? v.x * scale : 0.0f,
                      uniform_from_bits(r.v[1]) >= p ? v.y * scale : 0.0f,
                      uniform_from_bits(r.v[2]) >= p ? v.z * scale : 0.0f,
                      uniform_from_bits(r.v[3]) >= p ? v.w * scale : 0.0f);
    } else {
      for (int k = 0; k < 4 && i + k < n; ++k)
        out[i + k] = uniform_from_bits(r.v[k]) >= p ? in[i + k] * scale : 0.0f;
    }
  }
}

void masked_scale(const float* in, float* out, int64_t n, float p, float scale, uint64_t seed,
                  const uint64_t* offset_base, uint64_t offset, Stream stream) {
  if (n == 0) return;
  const bool vec4 = reinterpret_cast<uintptr_t>(in) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const unsigned grid =
      static_cast<unsigned>(std::min<int64_t>(blocks_for((n + 3) / 4, kThreads), kMaxBlocks));
  launch("dropout", masked_scale_kernel, grid, kThreads, 0, stream, in, out, n, p, scale, seed,
         offset_base, offset, vec4);
}

}  // namespace

void dropout_forward(const float* x, float* y, int64_t n, float p, float scale, uint64_t seed,
                     const uint64_t* offset_base, uint64_t offset, Stream stream) {
  masked_scale(x, y, n, p, scale, seed, offset_base, offset, stream);
}

void dropout_backward(const float* dy, float* dx, int64_t n, float p, float scale,
                      uint64_t seed, const uint64_t* offset_base, uint64_t offset, Stream stream) {
  masked_scale(dy, dx, n, p, scale, seed, offset_base, offset, stream);
}

}  // namespace danlu::kernels::cuda
