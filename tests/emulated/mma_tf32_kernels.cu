// The kernels of mma_tf32_kernels.h.
#include "tests/emulated/mma_tf32_kernels.h"

#include "kernels/cuda/mma_tf32.cuh"

namespace danlu::testing {

using kernels::cuda::mma_m16n8k8_tf32;
using kernels::cuda::to_tf32;

// One thread per value.
__global__ void round_to_tf32(const float* in, uint32_t* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = to_tf32(in[i]);
}

// One warp per product; lane l = 4g + t loads the elements the fragment
// table gives it and stores its four elements of D.
__global__ void warp_products(const float* a, const float* b, const float* c, float* d,
                              bool round) {
  const int lane = threadIdx.x % 32;
  const int p = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int g = lane / 4, t = lane % 4;
  const float* ap = a + p * kMmaM * kMmaK;
  const float* bp = b + p * kMmaK * kMmaN;
  const float* cp = c + p * kMmaM * kMmaN;
  float* dp = d + p * kMmaM * kMmaN;
  const float a_values[4] = {ap[g * kMmaK + t], ap[(g + 8) * kMmaK + t], ap[g * kMmaK + t + 4],
                             ap[(g + 8) * kMmaK + t + 4]};
  const float b_values[2] = {bp[t * kMmaN + g], bp[(t + 4) * kMmaN + g]};
  uint32_t af[4], bf[2];
  for (int i = 0; i < 4; ++i) af[i] = round ? to_tf32(a_values[i]) : __float_as_uint(a_values[i]);
  for (int i = 0; i < 2; ++i) bf[i] = round ? to_tf32(b_values[i]) : __float_as_uint(b_values[i]);
  const float cf[4] = {cp[g * kMmaN + 2 * t], cp[g * kMmaN + 2 * t + 1],
                       cp[(g + 8) * kMmaN + 2 * t], cp[(g + 8) * kMmaN + 2 * t + 1]};
  float df[4];
  mma_m16n8k8_tf32(df, af, bf, cf);
  dp[g * kMmaN + 2 * t] = df[0];
  dp[g * kMmaN + 2 * t + 1] = df[1];
  dp[(g + 8) * kMmaN + 2 * t] = df[2];
  dp[(g + 8) * kMmaN + 2 * t + 1] = df[3];
}

// Each thread multiplies zeros, unless `misuse` makes it stray.
__global__ void misused_mma(float* d, int misuse) {
  const int lane = threadIdx.x % 32;
  const uint32_t a[4] = {0, 0, 0, 0}, b[2] = {0, 0};
  const float c[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  float out[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (misuse == kLaneReturns && lane == 5) return;
  if (misuse == kLaneElsewhere && lane == 5)
    __syncwarp();
  else if (misuse == kTwoCalls && lane % 2 == 1)
    mma_m16n8k8_tf32(out, a, b, c);
  else
    mma_m16n8k8_tf32(out, a, b, c);
  d[threadIdx.x] = out[0];
}

}  // namespace danlu::testing
