// All-zero patterns go to cudaMemsetAsync (the copy engine's fastest path);
// others to a grid-stride kernel.
#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/fill.h"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;  // enough to fill the GPU; the loop covers the rest

// Each thread writes words i, i + S, i + 2S, ... where S is the number of
// threads in the grid; a block covers kThreads consecutive words per pass.
template <class Word>
__global__ void fill_kernel(Word* data, int64_t n, Word bits) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    data[i] = bits;
}

template <class Word>
void fill(Word* data, int64_t n, Word bits, Stream stream) {
  if (n <= 0) return;
  if (bits == 0) {
    DANLU_CUDA_CHECK(cudaMemsetAsync(data, 0, static_cast<size_t>(n) * sizeof(Word), stream));
    return;
  }
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks);
  launch("fill", fill_kernel<Word>, dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0,
         stream, data, n, bits);
}

}  // namespace

void fill32(uint32_t* data, int64_t n, uint32_t bits, Stream stream) {
  fill(data, n, bits, stream);
}

void fill64(uint64_t* data, int64_t n, uint64_t bits, Stream stream) {
  fill(data, n, bits, stream);
}

}  // namespace danlu::kernels::cuda
