// Two kernels in the shape danlu's kernels take, run by the emulator and
// checked against plain loops: a tiled reduction (shared memory, a barrier
// tree, then warp shuffles) and a tiled matrix multiply (shared tiles loaded
// cooperatively, two barriers per tile), on sizes that are not multiples of
// the tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

using kernels::cuda::blocks_for;
using kernels::cuda::launch;
using testing::DeviceBuffer;

constexpr int kReduceThreads = 256;

// Each block sums kReduceThreads * 4 consecutive inputs (grid-stride within
// the block's tile), tree-reduces in shared memory down to one warp, then
// finishes with shuffles; thread 0 writes the block's partial sum.
__global__ void tile_sum(const float* in, int64_t n, float* partials) {
  __shared__ float sums[kReduceThreads];
  const int t = threadIdx.x;
  const int64_t base = static_cast<int64_t>(blockIdx.x) * kReduceThreads * 4;
  float acc = 0.0f;
  for (int k = 0; k < 4; ++k) {
    const int64_t i = base + k * kReduceThreads + t;
    if (i < n) acc += in[i];
  }
  sums[t] = acc;
  __syncthreads();
  for (int half = kReduceThreads / 2; half >= 32; half /= 2) {
    if (t < half) sums[t] += sums[t + half];
    __syncthreads();
  }
  if (t < 32) {
    float v = sums[t];
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (t == 0) partials[blockIdx.x] = v;
  }
}

TEST(EmulatedTiled, ReductionMatchesTheSum) {
  DANLU_REQUIRE_GPU();
  for (int64_t n : {1, 31, 1024, 1025, 5000}) {
    std::vector<float> in(n);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& v : in) v = dist(rng);
    const unsigned blocks = blocks_for(n, kReduceThreads * 4);
    DeviceBuffer<float> d_in(in), partials(blocks);
    launch("tile_sum", tile_sum, blocks, kReduceThreads, 0, nullptr, d_in.get(), n,
           partials.get());
    double got = 0.0, want = 0.0;
    for (float p : partials.to_host()) got += p;
    for (float v : in) want += v;
    // f32 partial sums of at most 1024 values in [-1, 1]: rounding error well
    // under 1e-4 per block.
    EXPECT_NEAR(got, want, 1e-4 * blocks) << "n = " << n;
  }
}

constexpr int kTile = 16;

// C (m, n) = A (m, k) . B (k, n), row-major. Each block computes one 16x16
// tile of C, one element per thread; each step loads a 16x16 tile of A and
// of B into shared memory (zero outside the matrices).
__global__ void tiled_matmul(const float* a, const float* b, float* c, int m, int n, int k) {
  __shared__ float a_tile[kTile][kTile];
  __shared__ float b_tile[kTile][kTile + 1];  // padded as a real kernel would be
  const int row = blockIdx.y * kTile + threadIdx.y;
  const int col = blockIdx.x * kTile + threadIdx.x;
  float acc = 0.0f;
  for (int k0 = 0; k0 < k; k0 += kTile) {
    const int ak = k0 + threadIdx.x, bk = k0 + threadIdx.y;
    a_tile[threadIdx.y][threadIdx.x] = row < m && ak < k ? a[row * k + ak] : 0.0f;
    b_tile[threadIdx.y][threadIdx.x] = bk < k && col < n ? b[bk * n + col] : 0.0f;
    __syncthreads();
    for (int j = 0; j < kTile; ++j) acc += a_tile[threadIdx.y][j] * b_tile[j][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = acc;
}

TEST(EmulatedTiled, MatrixMultiplyMatchesLoops) {
  DANLU_REQUIRE_GPU();
  struct Size {
    int m, n, k;
  };
  for (Size s : {Size{1, 1, 1}, Size{16, 16, 16}, Size{37, 29, 45}, Size{5, 70, 3}}) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    for (float& v : a) v = dist(rng);
    for (float& v : b) v = dist(rng);
    DeviceBuffer<float> d_a(a), d_b(b), d_c(s.m * s.n);
    const dim3 grid(blocks_for(s.n, kTile), blocks_for(s.m, kTile));
    launch("tiled_matmul", tiled_matmul, grid, dim3(kTile, kTile), 0, nullptr, d_a.get(),
           d_b.get(), d_c.get(), s.m, s.n, s.k);
    const std::vector<float> c = d_c.to_host();
    for (int i = 0; i < s.m; ++i)
      for (int j = 0; j < s.n; ++j) {
        double want = 0.0;
        for (int p = 0; p < s.k; ++p) want += double{a[i * s.k + p]} * b[p * s.n + j];
        // f32 dot products of at most 45 terms of magnitude <= 4.
        ASSERT_NEAR(c[i * s.n + j], want, 1e-4 * s.k) << s.m << "x" << s.n << "x" << s.k
                                                      << " at (" << i << ", " << j << ")";
      }
  }
}

}  // namespace
}  // namespace danlu
