// Rung 2: the shared-memory tiled direct convolution (forward only). Adds
// over rung 1: a block stages, one input channel at a time, the patch of the
// input plane its output tile reads and the filters of its output channels
// in shared memory, so each input value comes from global memory once per
// block (not once per tap per output channel) and each thread computes 8
// output channels of one pixel, reusing each loaded input value 8 times
// from a register.
//
// Block (tile, n, g * chunks + k): the 16 x 16 output pixels of tile `tile`
// of image n, for the 8 output channels [8k, 8k + 8) of group g; thread
// (tx, ty) = (tid % 16, tid / 16) owns pixel (ty, tx) of the tile. Per input
// channel: the block copies the patch ((16 - 1) * stride + (K - 1) * dilation
// + 1 on a side, zero in the padding) and the 8 filters' KH x KW taps
// (filter[tap][q], zero past the group's end) into shared memory, waits,
// and each thread adds its taps into 8 accumulators; a second barrier
// guards the buffers before the next channel.
//
// This replaces the earlier direct kernel for few input channels (a first
// layer over 1 or 3 channels, depthwise), whose GEMM tiles would be mostly
// empty: the dispatcher picks this rung there (kernels/conv.h). It runs any
// group count and padding; stride and dilation only while the patch fits
// kPatch floats, taps only up to kMaxTaps; other shapes fall back.
//
// Roofline: a 3x3 stride-1 channel step loads 18 x 18 + 8 x 9 = 396 floats
// and does 256 x 8 x 9 = 18432 FMAs, 46 FMAs per float from L2: compute
// side of the ridge. The SM limit is shared-memory issue: each tap costs one
// patch load and two 128-bit filter loads (broadcast) for 8 FMAs, so expect
// about 0.3 to 0.4 of FP32 peak for wide layers and less for 1 to 3 input
// channels, where staging and its barriers dominate.
#include "kernels/conv.h"
#include "kernels/cuda/conv/geometry.cuh"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kTile = 16;                  // output pixels on a side of a block's tile
constexpr int kThreads = kTile * kTile;    // one per output pixel
constexpr int kOut = 8;                    // output channels per block
constexpr int kPatch = 48 * 48;            // floats of the staged input patch
constexpr int kMaxTaps = 64;               // KH * KW, up to 8 x 8

int patch_side(int64_t stride, int64_t kernel, int64_t dilation) {
  return int((kTile - 1) * stride + (kernel - 1) * dilation + 1);
}

__global__ void tiled_forward(const float* x, const float* weight, const float* bias, float* y,
                              Geometry g, int tiles_x, int chunks, int patch_h, int patch_w) {
  __shared__ float patch[kPatch];
  __shared__ __align__(16) float filter[kMaxTaps][kOut];
  const int tid = threadIdx.x, tx = tid % kTile, ty = tid / kTile;
  const int oy0 = int(blockIdx.x) / tiles_x * kTile, ox0 = int(blockIdx.x) % tiles_x * kTile;
  const int64_t n = blockIdx.y;
  const int group = int(blockIdx.z) / chunks, o0 = int(blockIdx.z) % chunks * kOut;
  const int count = g.og - o0 < kOut ? int(g.og - o0) : kOut;
  const int taps = g.kh * g.kw;
  const int iy0 = oy0 * g.stride_h - g.pad_h, ix0 = ox0 * g.stride_w - g.pad_w;

  float acc[kOut] = {};
  for (int64_t c = 0; c < g.cg; ++c) {
    const float* plane = x + (n * g.c + group * g.cg + c) * g.h * g.w;
    for (int e = tid; e < patch_h * patch_w; e += kThreads) {
      const int iy = iy0 + e / patch_w, ix = ix0 + e % patch_w;
      patch[e] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? plane[int64_t(iy) * g.w + ix] : 0.f;
    }
    for (int e = tid; e < taps * kOut; e += kThreads) {
      const int tap = e / kOut, q = e % kOut;
      filter[tap][q] =
          q < count ? weight[((group * g.og + o0 + q) * g.cg + c) * taps + tap] : 0.f;
    }
    __syncthreads();
    for (int i = 0; i < g.kh; ++i) {
      const float* row = patch + (ty * g.stride_h + i * g.dil_h) * patch_w + tx * g.stride_w;
      for (int j = 0; j < g.kw; ++j) {
        const float v = row[j * g.dil_w];
        const float* f = filter[i * g.kw + j];
        for (int q = 0; q < kOut; ++q) acc[q] = fmaf(v, f[q], acc[q]);
      }
    }
    __syncthreads();
  }

  const int oy = oy0 + ty, ox = ox0 + tx;
  if (oy >= g.oh || ox >= g.ow) return;
  for (int q = 0; q < kOut; ++q) {  // a fixed trip count keeps acc in registers
    if (q >= count) break;
    const int64_t oc = group * g.og + o0 + q;
    y[((n * g.o + oc) * g.oh + oy) * g.ow + ox] = acc[q] + (bias ? bias[oc] : 0.f);
  }
}

int64_t channel_chunks(const Conv2dShape& s) { return (s.o / s.groups + kOut - 1) / kOut; }

std::string refusal(const Conv2dShape& s, ConvPass) {
  const int64_t ph = patch_side(s.stride_h, s.kh, s.dil_h), pw = patch_side(s.stride_w, s.kw, s.dil_w);
  if (ph * pw > kPatch)
    return detail::concat("its input patch (", ph, " x ", pw, " for stride ", s.stride_h, "x",
                          s.stride_w, ", a ", s.kh, "x", s.kw, " kernel and dilation ", s.dil_h,
                          "x", s.dil_w, ") exceeds its ", kPatch, "-float buffer");
  if (s.kh * s.kw > kMaxTaps)
    return detail::concat("its ", s.kh, "x", s.kw, " kernel exceeds ", kMaxTaps, " taps");
  const int64_t tiles = ((s.oh + kTile - 1) / kTile) * ((s.ow + kTile - 1) / kTile);
  if (tiles > 0x7fffffff)
    return detail::concat("its ", tiles, " output tiles exceed a CUDA grid (2^31 - 1)");
  if (s.n > 65535 || s.groups * channel_chunks(s) > 65535)
    return detail::concat("batch ", s.n, " or ", s.groups * channel_chunks(s),
                          " channel blocks exceed a CUDA grid dimension (65535)");
  return "";
}

void forward(const float* x, const float* weight, const float* bias, float* y,
             const Conv2dShape& s, Stream stream) {
  const int64_t tiles_y = (s.oh + kTile - 1) / kTile, tiles_x = (s.ow + kTile - 1) / kTile;
  const int64_t chunks = channel_chunks(s);
  launch("conv2d_tiled_forward", tiled_forward,
         dim3(static_cast<unsigned>(tiles_y * tiles_x), static_cast<unsigned>(s.n),
              static_cast<unsigned>(s.groups * chunks)),
         dim3(kThreads), 0, stream, x, weight, bias, y, geometry(s), int(tiles_x), int(chunks),
         patch_side(s.stride_h, s.kh, s.dil_h), patch_side(s.stride_w, s.kw, s.dil_w));
}

}  // namespace

ConvVariant tiled_direct_variant() {
  ConvVariant v;
  v.number = 2;
  v.name = "tiled direct";
  v.unsupported = refusal;
  v.forward = forward;
  return v;
}

}  // namespace danlu::kernels::cuda
