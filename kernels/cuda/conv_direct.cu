// CUDA conv2d forward for few input channels per group (a first layer over
// 1 or 3 channels, depthwise): each thread computes one output pixel for
// kChannels output channels at once, so each input tap it loads is used
// kChannels times, with the filters staged in shared memory.
#include <algorithm>

#include "kernels/conv.h"
#include "kernels/cuda/conv_geometry.cuh"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kPixels = 256;   // threads per block, one output pixel each
constexpr int kChannels = 8;   // output channels per block

// Block (blockIdx.x, blockIdx.y): output pixels [blockIdx.x * 256, + 256) of
// the flattened (N, OH, OW), for output channels [o0, o0 + 8) of group g,
// where blockIdx.y = g * chunks + o0 / 8. The block first copies those
// channels' filters (Cg*KH*KW taps each, at most kDirectMaxReduction) into
// shared memory, zero for channels past the group's end; then each thread
// walks its pixel's taps once and accumulates the 8 channels in registers.
__global__ void conv2d_direct(const float* x, const float* weight, const float* bias, float* y,
                              Conv2dShape s, Geometry geo, int chunks) {
  __shared__ float filters[kChannels * kDirectMaxReduction];
  const int g = blockIdx.y / chunks;
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int o0 = blockIdx.y % chunks * kChannels;
  const int count = og - o0 < kChannels ? int(og - o0) : kChannels;
  const int taps = int(cg) * geo.kh * geo.kw;
  const float* w = weight + (g * og + o0) * taps;
  for (int e = threadIdx.x; e < kChannels * taps; e += kPixels)
    filters[e] = e < count * taps ? w[e] : 0.f;
  __syncthreads();

  const int64_t plane = int64_t(geo.oh) * geo.ow;
  const int64_t m = int64_t(blockIdx.x) * kPixels + threadIdx.x;
  if (m >= s.n * plane) return;  // no barrier follows
  const int64_t n = m / plane;
  const int p = int(m % plane);
  const int iy0 = p / geo.ow * geo.stride_h - geo.pad_h;
  const int ix0 = p % geo.ow * geo.stride_w - geo.pad_w;
  const float* in = x + (n * s.c + g * cg) * geo.h * geo.w;
  float acc[kChannels] = {};
  for (int c = 0; c < cg; ++c) {
    for (int i = 0; i < geo.kh; ++i) {
      const int iy = iy0 + i * geo.dil_h;
      if (iy < 0 || iy >= geo.h) continue;
      for (int j = 0; j < geo.kw; ++j) {
        const int ix = ix0 + j * geo.dil_w;
        if (ix < 0 || ix >= geo.w) continue;
        const float v = in[(int64_t(c) * geo.h + iy) * geo.w + ix];
        const int tap = (c * geo.kh + i) * geo.kw + j;
        for (int q = 0; q < kChannels; ++q) acc[q] = fmaf(v, filters[q * taps + tap], acc[q]);
      }
    }
  }
  for (int q = 0; q < kChannels; ++q) {  // a fixed trip count keeps acc in registers
    if (q >= count) break;
    const int64_t oc = g * og + o0 + q;
    y[(n * s.o + oc) * plane + p] = acc[q] + (bias ? bias[oc] : 0.f);
  }
}

}  // namespace

void conv2d_forward_direct(const float* x, const float* weight, const float* bias, float* y,
                           const Conv2dShape& s, Stream stream) {
  DANLU_CHECK(conv2d_prefers_direct(s), "conv2d_forward_direct: ", s.c / s.groups,
              " input channels per group with a ", s.kh, "x", s.kw, " kernel exceed its limits (",
              kDirectMaxChannels, " channels, ", kDirectMaxReduction, " taps)");
  const int64_t chunks = (s.o / s.groups + kChannels - 1) / kChannels;
  DANLU_CHECK(s.groups * chunks <= 65535, "conv2d_forward_direct: ", s.groups, " groups x ",
              chunks, " channel blocks exceed a CUDA grid dimension (65535)");
  launch("conv2d_forward_direct", conv2d_direct,
         dim3(blocks_for(s.n * s.oh * s.ow, kPixels), static_cast<unsigned>(s.groups * chunks)),
         dim3(kPixels), 0, stream, x, weight, bias, y, s, geometry(s), int(chunks));
}

}  // namespace danlu::kernels::cuda
