// CUDA conv2d as three implicit GEMMs (kernels/cuda/implicit_gemm.cuh), one
// per direction, per group g (G groups, Cg = C/G input and Og = O/G output
// channels per group):
//   forward          y  (N*OH*OW, Og)    = im2col(x) . weight^T    depth (c, i, j)
//   backward-data    dx (N*H*W, Cg)      = gather(dy) . weight     depth (o, i, j)
//   backward-weight  dw (Cg*KH*KW, Og)   = im2col(x)^T . dy        depth (n, oy, ox)
// Each operand below computes one element of its matrix from the tensors.
// Backward-data gathers: each dx element reads the dy elements whose windows
// cover it, so nothing is scattered. (With stride s, all but 1/s^2 of its
// taps are misses that load zero; splitting dx by stride phase would skip
// them.) Backward-weight reduces over the whole batch, so it splits that
// depth across blocks and adds the partial sums in a fixed order; the bias
// gradient does the same with each channel's strips (channel_strips.cuh).
#include <algorithm>

#include "kernels/conv.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/channel_strips.cuh"
#include "kernels/cuda/conv_geometry.cuh"
#include "kernels/cuda/implicit_gemm.cuh"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

using igemm::kDepth;

// ---- forward ------------------------------------------------------------------

// A[(n, oy, ox), (c, i, j)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw],
// 0 in the padding.
struct InputPatches {
  static constexpr bool kAlongRows = true;  // adjacent rows are adjacent ox
  const float* x;
  Geometry geo;
  int64_t c_total, cg;

  struct Cursor {
    int64_t k = 0;
    Digits d;                       // (c, i, j)
    const float* planes = nullptr;  // x[n, g*Cg]
    int iy0 = 0, ix0 = 0;
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t m, int g, int64_t k) const {
    const int64_t plane = int64_t(geo.oh) * geo.ow, n = m / plane;
    const int p = int(m % plane);
    Cursor c;
    c.k = k;
    c.d = Digits::of(k, geo.kh, geo.kw);
    c.planes = x + (n * c_total + g * cg) * geo.h * geo.w;
    c.iy0 = p / geo.ow * geo.stride_h - geo.pad_h;
    c.ix0 = p % geo.ow * geo.stride_w - geo.pad_w;
    return c;
  }
  __device__ float load(const Cursor& c) const {
    const int iy = c.iy0 + c.d.mid * geo.dil_h, ix = c.ix0 + c.d.lo * geo.dil_w;
    if (iy < 0 || iy >= geo.h || ix < 0 || ix >= geo.w) return 0.f;
    return c.planes[(c.d.hi * geo.h + iy) * geo.w + ix];
  }
};

// B[(c, i, j), o] = weight[g*Og + o, c, i, j]: row g*Og + o of the
// (O, Cg*KH*KW) weight matrix.
struct FilterRows {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent
  const float* weight;
  int64_t depth, og;

  struct Cursor {
    int64_t k = 0;
    const float* row = nullptr;
    __device__ void advance() { k += kDepth; }
  };
  __device__ Cursor start(int64_t o, int g, int64_t k) const {
    return {k, weight + (g * og + o) * depth};
  }
  __device__ float load(const Cursor& c) const { return c.row[c.k]; }
};

// y[n, g*Og + o, oy, ox] = C[(n, oy, ox), o] + bias[g*Og + o].
struct ForwardOut {
  float* y;
  const float* bias;
  int64_t plane, o_total, og;
  __device__ void store(int64_t m, int64_t o, int g, int, float v) const {
    const int64_t n = m / plane, oc = g * og + o;
    y[(n * o_total + oc) * plane + m % plane] = v + (bias ? bias[oc] : 0.f);
  }
};

// ---- backward-data --------------------------------------------------------------

// A[(n, iy, ix), (o, i, j)] = dy[n, g*Og + o, oy, ox] for the output (oy, ox)
// whose tap (i, j) reads x[iy, ix], i.e. oy*sh = iy + ph - i*dh; 0 where
// that is not a whole output position inside the output plane.
struct OutputGradPatches {
  static constexpr bool kAlongRows = true;  // adjacent rows are adjacent ix
  const float* dy;
  Geometry geo;
  int64_t o_total, og;

  struct Cursor {
    int64_t k = 0;
    Digits d;                       // (o, i, j)
    const float* planes = nullptr;  // dy[n, g*Og]
    int ty0 = 0, tx0 = 0;           // iy + ph, ix + pw
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t m, int g, int64_t k) const {
    const int64_t plane = int64_t(geo.h) * geo.w, n = m / plane;
    const int p = int(m % plane);
    Cursor c;
    c.k = k;
    c.d = Digits::of(k, geo.kh, geo.kw);
    c.planes = dy + (n * o_total + g * og) * geo.oh * geo.ow;
    c.ty0 = p / geo.w + geo.pad_h;
    c.tx0 = p % geo.w + geo.pad_w;
    return c;
  }
  __device__ float load(const Cursor& c) const {
    const int ty = c.ty0 - c.d.mid * geo.dil_h, tx = c.tx0 - c.d.lo * geo.dil_w;
    if (ty < 0 || tx < 0 || ty % geo.stride_h != 0 || tx % geo.stride_w != 0) return 0.f;
    const int oy = ty / geo.stride_h, ox = tx / geo.stride_w;
    if (oy >= geo.oh || ox >= geo.ow) return 0.f;
    return c.planes[(c.d.hi * geo.oh + oy) * geo.ow + ox];
  }
};

// B[(o, i, j), c] = weight[g*Og + o, c, i, j].
struct FilterColumns {
  static constexpr bool kAlongRows = false;  // adjacent taps are adjacent
  const float* weight;
  int64_t cg, og;
  int taps;

  struct Cursor {
    int64_t k = 0;
    Digits d;  // (o, 0, tap)
    const float* column = nullptr;  // weight[g*Og, c]
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t c, int g, int64_t k) const {
    return {k, Digits::of(k, 1, taps), weight + (g * og * cg + c) * taps};
  }
  __device__ float load(const Cursor& c) const { return c.column[c.d.hi * cg * taps + c.d.lo]; }
};

// dx[n, g*Cg + c, iy, ix] = C[(n, iy, ix), c].
struct DataGradOut {
  float* dx;
  int64_t plane, c_total, cg;
  __device__ void store(int64_t m, int64_t c, int g, int, float v) const {
    const int64_t n = m / plane;
    dx[(n * c_total + g * cg + c) * plane + m % plane] = v;
  }
};

// ---- backward-weight --------------------------------------------------------------

// A[(c, i, j), (n, oy, ox)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw].
struct InputColumns {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent ox
  const float* x;
  Geometry geo;
  int64_t c_total, cg;

  struct Cursor {
    int64_t k = 0;
    Digits d;                      // (n, oy, ox)
    const float* plane = nullptr;  // x[0, g*Cg + c]
    int y_off = 0, x_off = 0;      // i*dh - ph, j*dw - pw
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t r, int g, int64_t k) const {
    const int taps = geo.kh * geo.kw, t = int(r % taps);
    Cursor c;
    c.k = k;
    c.d = Digits::of(k, geo.oh, geo.ow);
    c.plane = x + (g * cg + r / taps) * geo.h * geo.w;
    c.y_off = t / geo.kw * geo.dil_h - geo.pad_h;
    c.x_off = t % geo.kw * geo.dil_w - geo.pad_w;
    return c;
  }
  __device__ float load(const Cursor& c) const {
    const int iy = c.d.mid * geo.stride_h + c.y_off, ix = c.d.lo * geo.stride_w + c.x_off;
    if (iy < 0 || iy >= geo.h || ix < 0 || ix >= geo.w) return 0.f;
    return c.plane[(c.d.hi * c_total * geo.h + iy) * geo.w + ix];
  }
};

// B[(n, oy, ox), o] = dy[n, g*Og + o, oy, ox].
struct OutputGradRows {
  static constexpr bool kAlongRows = false;  // adjacent depths are adjacent
  const float* dy;
  int64_t o_total, og;
  int plane;

  struct Cursor {
    int64_t k = 0;
    Digits d;                        // (n, 0, oy*OW + ox)
    const float* channel = nullptr;  // dy[0, g*Og + o]
    __device__ void advance() {
      k += kDepth;
      d.step();
    }
  };
  __device__ Cursor start(int64_t o, int g, int64_t k) const {
    return {k, Digits::of(k, 1, plane), dy + (g * og + o) * plane};
  }
  __device__ float load(const Cursor& c) const {
    return c.channel[c.d.hi * o_total * plane + c.d.lo];
  }
};

// dweight[g*Og + o, r] for r = (c, i, j), or that element of split's slice
// of the partial sums (the slices are dweight-shaped).
struct WeightGradOut {
  float* dst;
  int64_t per_split, depth_w, og;
  __device__ void store(int64_t r, int64_t o, int g, int split, float v) const {
    dst[split * per_split + (g * og + o) * depth_w + r] = v;
  }
};

// The backward-weight reduction runs over N*OH*OW terms for a small output,
// so its depth is split until the grid has about kTargetBlocks blocks
// (several per SM of a large GPU), keeping every slice at least kMinSlice
// long so that the partial sums stay small next to the inputs they reduce.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMinSlice = 512;

igemm::Size weight_grad_size(const Conv2dShape& s) {
  igemm::Size size;
  size.rows = s.c / s.groups * s.kh * s.kw;
  size.cols = s.o / s.groups;
  size.depth = s.n * s.oh * s.ow;
  size.groups = int(s.groups);
  const int64_t tiles = (size.rows + igemm::kRows - 1) / igemm::kRows *
                        ((size.cols + igemm::kCols - 1) / igemm::kCols) * s.groups;
  int64_t splits = std::min((kTargetBlocks + tiles - 1) / tiles, size.depth / kMinSlice);
  splits = std::clamp<int64_t>(splits, 1, std::max<int64_t>(65535 / s.groups, 1));
  const int64_t slice = (size.depth + splits - 1) / splits;
  size.slice = std::max<int64_t>((slice + kDepth - 1) / kDepth * kDepth, kDepth);
  size.splits = int(std::max<int64_t>((size.depth + size.slice - 1) / size.slice, 1));
  return size;
}

// dweight[e] = the sum over splits of partial[split][e]. Block b owns the
// 32 elements e = 32 b + x (x = threadIdx.x, so a warp reads 128 contiguous
// bytes of one split): thread (x, y) adds splits y, y + kSplitLanes, ... of
// element e, and thread (x, 0) then adds the kSplitLanes sums in y order. The
// order depends on `splits` alone, so the bits repeat.
constexpr int kSplitLanes = 8;
__global__ void sum_splits(const float* partial, float* dweight, int64_t count, int splits) {
  __shared__ float lane_sums[kSplitLanes][kWarpSize];
  const int64_t e = int64_t(blockIdx.x) * kWarpSize + threadIdx.x;
  float acc = 0.f;
  if (e < count)
    for (int split = threadIdx.y; split < splits; split += kSplitLanes)
      acc += partial[split * count + e];
  lane_sums[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || e >= count) return;
  float sum = 0.f;
  for (int lane = 0; lane < kSplitLanes; ++lane) sum += lane_sums[lane][threadIdx.x];
  dweight[e] = sum;
}

// Stage 1 of dbias[o] = the sum of dy[:, o, :, :], on a (O, chunks) grid
// (channel_strips.cuh): block (o, k) adds strip k of channel o, each thread
// its positions in double, then the block in a fixed tree (block_reduce);
// thread 0 writes the strip's sum to partial[k * O + o], or, when the channel
// is one strip, dbias[o] itself.
__global__ void bias_grad_strips(const float* dy, double* partial, float* dbias, int64_t n,
                                 int64_t o_total, int64_t plane) {
  __shared__ double scratch[kWarpSize];
  double acc = 0.0;
  for_strip_values(n, o_total, plane, [&](int64_t i) { acc += dy[i]; });
  acc = block_reduce(acc, Sum{}, 0.0, scratch);
  if (threadIdx.x != 0) return;
  if (gridDim.y == 1)
    dbias[blockIdx.x] = static_cast<float>(acc);
  else
    partial[int64_t(blockIdx.y) * o_total + blockIdx.x] = acc;
}

// Stage 2: thread o adds channel o's strip sums in strip order, in double,
// and rounds once to dbias[o].
__global__ void bias_grad_merge(const double* partial, float* dbias, int64_t chunks,
                                int64_t o_total) {
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= o_total) return;
  double acc = 0.0;
  for (int64_t k = 0; k < chunks; ++k) acc += partial[k * o_total + o];
  dbias[o] = static_cast<float>(acc);
}

constexpr int kMergeThreads = 256;

// The backward's scratch, in floats: the bias gradient's strip sums
// (doubles, two floats each, first so that they stay 8-byte aligned), then
// the weight gradient's split partials. Each is empty when not split.
struct Workspace {
  int64_t bias_chunks, bias_floats, weight_floats;
};

Workspace workspace_layout(const Conv2dShape& s) {
  const igemm::Size size = weight_grad_size(s);
  const int64_t chunks = chunks_for(s.n * s.oh * s.ow, s.o);
  return {chunks, chunks > 1 ? 2 * chunks * s.o : 0,
          size.splits > 1 ? size.splits * s.o * size.rows : 0};
}

}  // namespace

int64_t conv2d_workspace(const Conv2dShape& s) {
  const Workspace w = workspace_layout(s);
  return w.bias_floats + w.weight_floats;
}

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                    const Conv2dShape& s, Stream stream) {
  const Geometry geo = geometry(s);
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  igemm::Size size;
  size.rows = s.n * s.oh * s.ow;
  size.cols = og;
  size.depth = cg * s.kh * s.kw;
  size.slice = size.depth;
  size.groups = int(s.groups);
  igemm::run("conv2d_forward", InputPatches{x, geo, s.c, cg}, FilterRows{weight, size.depth, og},
             ForwardOut{y, bias, s.oh * s.ow, s.o, og}, size, stream);
}

void conv2d_backward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias, float* workspace, const Conv2dShape& s,
                     Stream stream) {
  const Geometry geo = geometry(s);
  const int64_t cg = s.c / s.groups, og = s.o / s.groups, taps = s.kh * s.kw;
  const Workspace layout = workspace_layout(s);
  if (dbias) {
    auto* strip_sums = reinterpret_cast<double*>(workspace);
    launch("conv2d_bias_grad_strips", bias_grad_strips,
           dim3(static_cast<unsigned>(s.o), static_cast<unsigned>(layout.bias_chunks)),
           dim3(kStripThreads), 0, stream, dy, strip_sums, dbias, s.n, s.o, s.oh * s.ow);
    if (layout.bias_chunks > 1)
      launch("conv2d_bias_grad_merge", bias_grad_merge, dim3(blocks_for(s.o, kMergeThreads)),
             dim3(kMergeThreads), 0, stream, strip_sums, dbias, layout.bias_chunks, s.o);
  }
  if (dx) {
    igemm::Size size;
    size.rows = s.n * s.h * s.w;
    size.cols = cg;
    size.depth = og * taps;
    size.slice = size.depth;
    size.groups = int(s.groups);
    igemm::run("conv2d_backward_data", OutputGradPatches{dy, geo, s.o, og},
               FilterColumns{weight, cg, og, int(taps)}, DataGradOut{dx, s.h * s.w, s.c, cg},
               size, stream);
  }
  if (dweight) {
    const igemm::Size size = weight_grad_size(s);
    const int64_t count = s.o * size.rows;
    float* dst = size.splits > 1 ? workspace + layout.bias_floats : dweight;
    igemm::run("conv2d_backward_weight", InputColumns{x, geo, s.c, cg},
               OutputGradRows{dy, s.o, og, int(s.oh * s.ow)},
               WeightGradOut{dst, count, size.rows, og}, size, stream);
    if (size.splits > 1)
      launch("conv2d_sum_splits", sum_splits, dim3(blocks_for(count, kWarpSize)),
             dim3(kWarpSize, kSplitLanes), 0, stream, dst, dweight, count, size.splits);
  }
}

}  // namespace danlu::kernels::cuda
