// Rung 4: the register-blocked implicit GEMM. The same three GEMMs as rung 3
// (y = im2col(x) . weight^T, dx = gather(dy) . weight, dweight =
// im2col(x)^T . dy, per group). A block of 64 to 256 threads computes a
// 128-row by 16- to 128-column tile of a GEMM's output, each thread an 8x8
// or 8x4 micro-tile of it (register_blocked.cuh); the loaders below say
// which elements each thread copies. What this adds over rung 3:
// - micro-tiles of 8x8 (8x4 in narrow tiles) read from shared memory as
//   float4s: 4 FMAs per shared-load word (2.7 in 8x4) where rung 3 had 2,
//   and 16 (10.7) FMAs per shared-load instruction where it had 2;
// - 16 depths per stage and a 3-stage cp.async ring: the tensors go from
//   global to shared memory without passing through registers, two stages
//   ahead of the arithmetic;
// - the tile's width follows the layer: 16, 32, 64 or 128 columns
//   (channels), so 16- and 32-channel layers do not fill a 64-wide tile
//   with zeros;
// - backward-data runs once per stride phase (iy, ix) mod (sh, sw), each
//   phase a GEMM over only the filter taps that reach it, so with stride 2
//   no zero taps are multiplied (rung 3 multiplies 3 zeros per useful tap);
// - the im2col address arithmetic leaves the inner loop. Forward and
//   backward-data walk their depth tap by tap and, within a tap, 16
//   channels at a time, so one stage's gather is one tap: each thread tests
//   its row's tap against the plane once per stage and then steps a
//   pointer by one channel plane per copy. Backward-weight keeps each
//   thread on one depth position (n, oy, ox) per stage and its rows' (c, i,
//   j) offsets in registers.
// Forward and backward-data pad each tap's channels to a multiple of 16
// (zero-filled copies), so a layer whose channels per group are not a
// multiple of 16 does some empty work; 3-channel inputs go to rung 2 anyway.
// Every copy is 4 bytes with zero-fill for the padding: in a depth-major
// tile 4 adjacent floats are 4 rows (output pixels, or filter columns),
// which are adjacent in memory only along an unpadded stride-1 image row,
// and the weights of one tap are strided by KH*KW.
// Backward-weight splits the N*OH*OW depth across blocks and adds the
// partial sums in a fixed order (split_sum.h), as rung 3 does: no atomics.
// Runs every stride, padding, dilation and group count whose per-image
// offsets fit 32 bits and whose grid fits CUDA's limits.
//
// Roofline (H100 SXM: 67 TFLOP/s FP32, 3.35 TB/s HBM, ridge near 20
// FLOP/byte). A 128 x 128 x 16 stage stages 16 x (128 + 128) floats (16 KiB)
// for 262,144 FMAs: 64 FMAs per staged float, 32 FLOP/byte from L2 (mostly
// cache hits: each input is reread by every tap and column tile); 64-, 32-
// and 16-wide tiles stage 43, 26 and 14 FMAs per float. Inside the SM a
// thread does 64 FMAs per 4 float4 shared loads (32 per 3 in 8x4 tiles), so
// shared-memory reads no longer bound it; the issue slots do: the static
// report (docs/gpu-resources.md) counts 0.80 to 0.82 of the main loop's
// instructions as FFMA for 64- and 128-wide forward and backward-data tiles,
// 0.67 to 0.70 for 16- and 32-wide ones, 0.62 to 0.79 for backward-weight.
// Predicted fraction of FP32 peak (none measured yet): 0.6 to 0.7 for large
// layers (64 or more channels on both sides, batch 128), 0.45 to 0.55 for
// 16- and 32-channel layers (more gather work per FMA; a 16-wide tile's
// copies and reads also bring shared memory near its 128 bytes per clock),
// 0.5 to 0.65 for backward-weight (8 to 12 warps per SM: its register-held row
// offsets; 2- to 4-way bank conflicts on its copies; the split's second pass).
#include <algorithm>
#include <climits>
#include <numeric>

#include "kernels/conv.h"
#include "kernels/cuda/conv/geometry.cuh"
#include "kernels/cuda/conv/register_blocked.cuh"
#include "kernels/cuda/conv/split_sum.h"
#include "kernels/cuda/conv/variants.h"
#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

using rb::kDepth;
using rb::kRows;
using rb::Tile;

// ---- forward and backward-data: depth = (tap, channel) ------------------------------

// The filter taps a GEMM visits: count_h x count_w of them, tap (a, b) being
// filter position (i0 + a*di, j0 + b*dj), which a GEMM row at source
// position (py, px) reads at (py + y0 + a*dy, px + x0 + b*dx).
struct Taps {
  int count_h = 0, count_w = 0;
  int i0 = 0, di = 1, j0 = 0, dj = 1, kw = 1;
  int y0 = 0, dy = 1, x0 = 0, dx = 1;
};

// Where a loader is along the depth: stage s covers channels c0 .. c0 + 15
// of tap (a, b), whose source offset is (y, x) and whose filter offset is
// tap = i*KW + j. next() moves one stage on, channels fastest.
struct TapWalk {
  int c0 = 0, b = 0;
  int y, x, tap, row_tap;
  __device__ explicit TapWalk(const Taps& t)
      : y(t.y0), x(t.x0), tap(t.i0 * t.kw + t.j0), row_tap(tap) {}
  __device__ void next(const Taps& t, int channels) {
    c0 += kDepth;
    if (c0 < channels) return;
    c0 = 0;
    x += t.dx;
    tap += t.dj;
    if (++b < t.count_w) return;
    b = 0;
    x = t.x0;
    y += t.dy;
    row_tap += t.di * t.kw;
    tap = row_tap;
  }
};

// A[(n, u, v), (tap, c)] = src[n, g*channels + c, u*sy + ty, v*sx + tx] for the
// tap's offset (ty, tx), 0 outside the plane. Forward: src = x, (u, v) = (oy,
// ox). Backward-data phase: src = dy, (u, v) the phase's own grid, stride 1.
struct PatchParams {
  const float* src;
  int64_t image;  // floats per image of src
  int64_t rows;   // N x ru x rv
  int plane_h, plane_w, plane;
  int ru, rv, sy, sx;
  int channels;  // per group, along the depth
  Taps taps;
};

// Thread tid copies row m = tid % 128 (and m + 64 when the block has 64
// threads) at depths tid / 128 + (threads / 128) j: a warp's copies are 32
// consecutive rows, mostly adjacent pixels of the source.
template <class T>
struct Patches {
  using Params = PatchParams;
  static constexpr int kSlots = T::kThreads < kRows ? kRows / T::kThreads : 1;
  static constexpr int kDepthStep = T::kThreads < kRows ? 1 : T::kThreads / kRows;
  static constexpr int kPerSlot = kRows * kDepth / T::kThreads / kSlots;

  TapWalk walk;
  const float* base[kSlots];   // src[n, g*channels] at the row's origin
  int ry[kSlots], rx[kSlots];  // the origin (u*sy, v*sx); INT_MIN/2 past the last row
  int m0, k0;

  __device__ Patches(const Params& p, int64_t row0, int g, int, int tid) : walk(p.taps) {
    m0 = tid % kRows;
    k0 = tid / kRows;
    const int64_t grid = int64_t(p.ru) * p.rv;
    for (int s = 0; s < kSlots; ++s) {
      const int64_t m = row0 + m0 + s * T::kThreads;
      const int r = int(m % grid);
      const bool live = m < p.rows;
      ry[s] = live ? r / p.rv * p.sy : INT_MIN / 2;
      rx[s] = live ? r % p.rv * p.sx : 0;
      base[s] = p.src + (live ? m / grid * p.image + ry[s] * p.plane_w + rx[s] : 0) +
                int64_t(g) * p.channels * p.plane;
    }
  }
  __device__ void load(const Params& p, float* tile) {
    const int64_t offset = int64_t(walk.c0 + k0) * p.plane + int64_t(walk.y) * p.plane_w + walk.x;
    const int left = p.channels - walk.c0 - k0;  // depths k0 + j*kDepthStep < channels
    bool inside[kSlots];
    for (int s = 0; s < kSlots; ++s)
      inside[s] = unsigned(ry[s] + walk.y) < unsigned(p.plane_h) &&
                  unsigned(rx[s] + walk.x) < unsigned(p.plane_w);
    for (int j = 0; j < kPerSlot; ++j)
      for (int s = 0; s < kSlots; ++s)
        cp_async_4_zfill(tile + (k0 + j * kDepthStep) * kRows + m0 + s * T::kThreads,
                         base[s] + offset + int64_t(j) * kDepthStep * p.plane,
                         inside[s] && j * kDepthStep < left ? 4 : 0);
    walk.next(p.taps, p.channels);
  }
};

// B[(tap, c), col] = weight[g*group_stride + c*channel_stride + col*col_stride
// + tap]: forward, c an input and col an output channel; backward-data, c an
// output and col an input channel.
struct FilterParams {
  const float* weight;
  int64_t group_stride, channel_stride, col_stride;
  int64_t cols;  // per group
  int channels;  // per group, along the depth
  Taps taps;
};

// Thread tid copies column tid % kCols at depths tid / kCols + (threads /
// kCols) j.
template <class T>
struct FilterTaps {
  using Params = FilterParams;
  static constexpr int kDepthStep = T::kThreads / T::kCols;
  static constexpr int kPer = kDepth / kDepthStep;

  TapWalk walk;
  const float* column;  // weight of this thread's column and first depth
  int col, k0;
  bool live;

  __device__ FilterTaps(const Params& p, int64_t col0, int g, int, int tid) : walk(p.taps) {
    col = tid % T::kCols;
    k0 = tid / T::kCols;
    live = col0 + col < p.cols;
    column = p.weight + g * p.group_stride + (live ? col0 + col : 0) * p.col_stride +
             k0 * p.channel_stride;
  }
  __device__ void load(const Params& p, float* tile) {
    const float* src = column + walk.c0 * p.channel_stride + walk.tap;
    const int left = p.channels - walk.c0 - k0;
    for (int j = 0; j < kPer; ++j)
      cp_async_4_zfill(tile + (k0 + j * kDepthStep) * T::kCols + col,
                       src + int64_t(j) * kDepthStep * p.channel_stride,
                       live && j * kDepthStep < left ? 4 : 0);
    walk.next(p.taps, p.channels);
  }
};

// C[(n, u, v), col] goes to dst[n, g*channels + col, y0 + u*sy, x0 + v*sx]
// (+ bias[g*channels + col] when there is one): y for the forward, dx for a
// backward-data phase.
struct PlaneOut {
  float* dst;
  const float* bias;
  int64_t image, plane, rows;
  int64_t channels;  // per group
  int ru, rv, y0, x0, sy, sx, w;
  __device__ int64_t row(int64_t m) const {
    if (m >= rows) return -1;
    const int64_t grid = int64_t(ru) * rv;
    const int r = int(m % grid);
    return m / grid * image + int64_t(y0 + r / rv * sy) * w + x0 + r % rv * sx;
  }
  __device__ void store(int64_t start, int64_t col, int g, int, float v) const {
    const int64_t ch = g * channels + col;
    dst[start + ch * plane] = v + (bias ? bias[ch] : 0.f);
  }
};

// ---- backward-weight: depth = (n, oy, ox) -------------------------------------------

// What the backward-weight operands share: the sizes, and the depth slice
// [split * slice, min((split + 1) * slice, depth)) that block split reduces.
struct WeightGradParams {
  const float* x;
  const float* dy;
  Geometry geo;
  int64_t depth, slice;
};

// Thread tid's depth position: k = slice start + tid % 16 + 16 s at stage s,
// as digits (n, oy, ox).
struct DepthWalk {
  Digits d;
  int64_t k, end;
  __device__ DepthWalk(const WeightGradParams& p, int split, int tid) {
    const int64_t begin = split * p.slice;
    k = begin + tid % kDepth;
    end = begin + p.slice < p.depth ? begin + p.slice : p.depth;
    d = Digits::of(k, p.geo.oh, p.geo.ow, kDepth);
  }
  __device__ void next() {
    k += kDepth;
    d.step();
  }
};

// Thread tid's first row (or column) in a backward-weight tile whose
// threads / 16 rows per depth are split among the threads of that depth:
// tid / 16 rotated by the depth tid % 16, so that a warp's 16 depths (rows
// of the depth-major tile 128 floats apart, one bank) land on distinct
// rows, hence on 8 or 16 banks instead of one.
__device__ inline int rotated_lane(int tid, int lanes) {
  return (tid / kDepth + tid % kDepth) % lanes;
}

// A[(c, i, j), (n, oy, ox)] = x[n, g*Cg + c, oy*sh - ph + i*dh, ox*sw - pw + j*dw].
// Thread tid copies depth tid % 16 of rows rotated_lane + (threads / 16) q;
// the rows' offsets c*H*W + i*dh*W + j*dw and (i*dh, j*dw) stay in
// registers.
template <class T>
struct InputColumns {
  using Params = WeightGradParams;
  static constexpr int kRowStep = T::kThreads / kDepth;
  static constexpr int kPer = kRows / kRowStep;

  DepthWalk walk;
  const float* planes;  // x[0, g*Cg]
  int offset[kPer], ry[kPer], rx[kPer];
  int slot;  // tile offset of the thread's first copy

  __device__ InputColumns(const Params& p, int64_t row0, int g, int split, int tid)
      : walk(p, split, tid) {
    const Geometry& geo = p.geo;
    const int taps = geo.kh * geo.kw;
    const int lane = rotated_lane(tid, kRowStep);
    slot = tid % kDepth * kRows + lane;
    planes = p.x + int64_t(g) * geo.cg * geo.h * geo.w;
    for (int q = 0; q < kPer; ++q) {
      const int64_t r = row0 + lane + q * kRowStep;
      const int c = int(r / taps), t = int(r % taps);
      const bool live = r < geo.cg * taps;
      ry[q] = live ? t / geo.kw * geo.dil_h : INT_MIN / 2;
      rx[q] = t % geo.kw * geo.dil_w;
      offset[q] = live ? (c * geo.h + ry[q]) * geo.w + rx[q] : 0;
    }
  }
  __device__ void load(const Params& p, float* tile) {
    const Geometry& geo = p.geo;
    const int iy = walk.k < walk.end ? walk.d.mid * geo.stride_h - geo.pad_h : INT_MIN / 2;
    const int ix = walk.d.lo * geo.stride_w - geo.pad_w;
    const float* src = planes + walk.d.hi * geo.c * geo.h * geo.w + int64_t(iy) * geo.w + ix;
    for (int q = 0; q < kPer; ++q)
      cp_async_4_zfill(tile + slot + q * kRowStep, src + offset[q],
                       unsigned(iy + ry[q]) < unsigned(geo.h) &&
                               unsigned(ix + rx[q]) < unsigned(geo.w)
                           ? 4
                           : 0);
    walk.next();
  }
};

// B[(n, oy, ox), o] = dy[n, g*Og + o, oy, ox]. Thread tid copies depth
// tid % 16 of columns rotated_lane + (threads / 16) q.
template <class T>
struct OutputGradRows {
  using Params = WeightGradParams;
  static constexpr int kColStep = T::kThreads / kDepth;
  static constexpr int kPer = T::kCols / kColStep;

  DepthWalk walk;
  const float* channel;  // dy[0, g*Og + this thread's first column]
  int slot, left;        // columns q*kColStep < left are the group's

  __device__ OutputGradRows(const Params& p, int64_t col0, int g, int split, int tid)
      : walk(p, split, tid) {
    const Geometry& geo = p.geo;
    const int lane = rotated_lane(tid, kColStep);
    const int64_t first = col0 + lane;
    slot = tid % kDepth * T::kCols + lane;
    left = first < geo.og ? int(geo.og - first) : 0;
    channel = p.dy + (g * geo.og + (first < geo.og ? first : 0)) * geo.oh * geo.ow;
  }
  __device__ void load(const Params& p, float* tile) {
    const Geometry& geo = p.geo;
    const int plane = geo.oh * geo.ow;
    const bool live = walk.k < walk.end;
    const float* src = channel + walk.d.hi * geo.o * plane + walk.d.mid * geo.ow + walk.d.lo;
    for (int q = 0; q < kPer; ++q)
      cp_async_4_zfill(tile + slot + q * kColStep, src + int64_t(q) * kColStep * plane,
                       live && q * kColStep < left ? 4 : 0);
    walk.next();
  }
};

// dweight[g*Og + o, r] for r = (c, i, j), or that element of split's slice of
// the partial sums (the slices are dweight-shaped).
struct WeightOut {
  float* dst;
  int64_t per_split, rows, og;
  __device__ int64_t row(int64_t r) const { return r < rows ? r : -1; }
  __device__ void store(int64_t r, int64_t o, int g, int split, float v) const {
    dst[split * per_split + (g * og + o) * rows + r] = v;
  }
};

// ---- sizes and launches ---------------------------------------------------------------

// The narrowest tile width that covers `cols` channels, at least `narrowest`.
int width_for(int64_t cols, int narrowest) {
  for (int w : {16, 32, 64})
    if (w >= narrowest && cols <= w) return w;
  return 128;
}

// Runs Launch<width>::run(args...) for a width from width_for(..., kNarrowest),
// instantiating only the widths it can be.
template <template <int> class Launch, int kNarrowest, class... Args>
void with_width(int width, const Args&... args) {
  if constexpr (kNarrowest <= 16)
    if (width == 16) return Launch<16>::run(args...);
  if (width == 32) return Launch<32>::run(args...);
  if (width == 64) return Launch<64>::run(args...);
  return Launch<128>::run(args...);
}

template <int W>
struct PlaneGemm {
  static void run(const char* name, const PatchParams& a, const FilterParams& b,
                  const PlaneOut& out, const rb::Size& size, Stream stream) {
    rb::run<Tile<W>, Patches, FilterTaps>(name, a, b, out, size, stream);
  }
};

int64_t chunks(int64_t channels) { return (channels + kDepth - 1) / kDepth; }

void forward(const float* x, const float* weight, const float* bias, float* y,
             const Conv2dShape& s, Stream stream) {
  const Geometry geo = geometry(s);
  const int64_t filter_taps = s.kh * s.kw;
  Taps taps;
  taps.count_h = geo.kh, taps.count_w = geo.kw, taps.kw = geo.kw;
  taps.y0 = -geo.pad_h, taps.dy = geo.dil_h, taps.x0 = -geo.pad_w, taps.dx = geo.dil_w;
  PatchParams a;
  a.src = x, a.image = s.c * s.h * s.w, a.rows = s.n * s.oh * s.ow;
  a.plane_h = geo.h, a.plane_w = geo.w, a.plane = geo.h * geo.w;
  a.ru = geo.oh, a.rv = geo.ow, a.sy = geo.stride_h, a.sx = geo.stride_w;
  a.channels = int(geo.cg), a.taps = taps;
  FilterParams b;
  b.weight = weight, b.group_stride = geo.og * geo.cg * filter_taps;
  b.channel_stride = filter_taps, b.col_stride = geo.cg * filter_taps;
  b.cols = geo.og, b.channels = int(geo.cg), b.taps = taps;
  PlaneOut out;
  out.dst = y, out.bias = bias, out.image = s.o * s.oh * s.ow, out.plane = s.oh * s.ow;
  out.rows = a.rows, out.channels = geo.og;
  out.ru = geo.oh, out.rv = geo.ow, out.y0 = 0, out.x0 = 0, out.sy = 1, out.sx = 1, out.w = geo.ow;
  rb::Size size;
  size.rows = a.rows;
  size.cols = geo.og;
  size.stages = filter_taps * chunks(geo.cg);
  size.groups = geo.groups;
  with_width<PlaneGemm, 16>(width_for(geo.og, 16), "conv2d_forward_rb", a, b, out, size, stream);
}

// The stride phase (ry, rx) of dx: the positions iy = first_y + sh*u (and
// likewise ix) with (iy + ph) % sh == ry, and the filter taps whose
// i*dh % sh == ry, the only ones that reach them: dy[oy] with
// oy*sh = iy + ph - i*dh, i.e. oy = u + (first_y + ph - i*dh) / sh.
struct Phase1d {
  int first = 0, count = 0;   // dx positions first + stride*u, u < count
  int tap0 = 0, taps = 0;     // filter taps tap0 + tap_step*a, a < taps
  int tap_step = 1, offset0 = 0, offset_step = 0;  // dy at u + offset0 + a*offset_step
};

Phase1d phase_1d(int residue, int size, int pad, int stride, int dil, int kernel) {
  Phase1d p;
  p.first = ((residue - pad) % stride + stride) % stride;
  p.count = p.first < size ? (size - p.first + stride - 1) / stride : 0;
  p.tap_step = stride / std::gcd(stride, dil);
  p.tap0 = 0;
  while (p.tap0 < kernel && p.tap0 * dil % stride != residue) ++p.tap0;
  p.taps = p.tap0 < kernel ? (kernel - 1 - p.tap0) / p.tap_step + 1 : 0;
  p.offset0 = (p.first + pad - p.tap0 * dil) / stride;
  p.offset_step = -(p.tap_step * dil / stride);
  return p;
}

void backward_data(const float* weight, const float* dy, float* dx, const Conv2dShape& s,
                   Stream stream) {
  const Geometry geo = geometry(s);
  const int64_t filter_taps = s.kh * s.kw;
  const int width = width_for(geo.cg, 16);
  for (int py = 0; py < geo.stride_h; ++py)
    for (int px = 0; px < geo.stride_w; ++px) {
      const Phase1d ph = phase_1d(py, geo.h, geo.pad_h, geo.stride_h, geo.dil_h, geo.kh);
      const Phase1d pw = phase_1d(px, geo.w, geo.pad_w, geo.stride_w, geo.dil_w, geo.kw);
      if (ph.count == 0 || pw.count == 0) continue;  // no dx positions in this phase
      Taps taps;
      taps.count_h = ph.taps, taps.count_w = pw.taps, taps.kw = geo.kw;
      taps.i0 = ph.tap0, taps.di = ph.tap_step, taps.j0 = pw.tap0, taps.dj = pw.tap_step;
      taps.y0 = ph.offset0, taps.dy = ph.offset_step;
      taps.x0 = pw.offset0, taps.dx = pw.offset_step;
      PatchParams a;
      a.src = dy, a.image = s.o * s.oh * s.ow, a.rows = s.n * ph.count * pw.count;
      a.plane_h = geo.oh, a.plane_w = geo.ow, a.plane = geo.oh * geo.ow;
      a.ru = ph.count, a.rv = pw.count, a.sy = 1, a.sx = 1;
      a.channels = int(geo.og), a.taps = taps;
      FilterParams b;
      b.weight = weight, b.group_stride = geo.og * geo.cg * filter_taps;
      b.channel_stride = geo.cg * filter_taps, b.col_stride = filter_taps;
      b.cols = geo.cg, b.channels = int(geo.og), b.taps = taps;
      PlaneOut out;
      out.dst = dx, out.bias = nullptr, out.image = s.c * s.h * s.w, out.plane = s.h * s.w;
      out.rows = a.rows, out.channels = geo.cg;
      out.ru = ph.count, out.rv = pw.count, out.y0 = ph.first, out.x0 = pw.first;
      out.sy = geo.stride_h, out.sx = geo.stride_w, out.w = geo.w;
      rb::Size size;
      size.rows = a.rows;
      size.cols = geo.cg;
      size.stages = int64_t(ph.taps) * pw.taps * chunks(geo.og);
      size.groups = geo.groups;
      with_width<PlaneGemm, 16>(width, "conv2d_backward_data_rb", a, b, out, size, stream);
    }
}

// Backward-weight tiles are at least 32 wide: its x gather costs several
// instructions per copy, which a 16-wide tile would spread over too few FMAs.
constexpr int kWeightGradNarrowest = 32;
int weight_grad_width(const Conv2dShape& s) {
  return width_for(s.o / s.groups, kWeightGradNarrowest);
}

rb::Size weight_grad_size(const Conv2dShape& s, int64_t* slice_out = nullptr) {
  rb::Size size;
  const int width = weight_grad_width(s);
  size.rows = s.c / s.groups * s.kh * s.kw;
  size.cols = s.o / s.groups;
  size.groups = int(s.groups);
  const int64_t depth = s.n * s.oh * s.ow;
  const int64_t tiles =
      (size.rows + kRows - 1) / kRows * ((size.cols + width - 1) / width) * s.groups;
  const int64_t slice = weight_grad_slice(depth, tiles, s.groups, kDepth);
  size.splits = int(std::max<int64_t>((depth + slice - 1) / slice, 1));
  size.stages = slice / kDepth;
  if (slice_out) *slice_out = slice;
  return size;
}

template <int W>
struct WeightGemm {
  static void run(const WeightGradParams& p, const WeightOut& out, const rb::Size& size,
                  Stream stream) {
    rb::run<Tile<W>, InputColumns, OutputGradRows>("conv2d_backward_weight_rb", p, p, out, size,
                                                   stream);
  }
};

int64_t weight_workspace(const Conv2dShape& s) {
  const rb::Size size = weight_grad_size(s);
  return size.splits > 1 ? size.splits * s.o * size.rows : 0;
}

void backward_weight(const float* x, const float* dy, float* dweight, float* workspace,
                     const Conv2dShape& s, Stream stream) {
  int64_t slice = 0;
  const rb::Size size = weight_grad_size(s, &slice);
  const int64_t count = s.o * size.rows;
  float* dst = size.splits > 1 ? workspace : dweight;
  const WeightGradParams p{x, dy, geometry(s), s.n * s.oh * s.ow, slice};
  const WeightOut out{dst, count, size.rows, size.cols};
  with_width<WeightGemm, kWeightGradNarrowest>(weight_grad_width(s), p, out, size, stream);
  if (size.splits > 1) sum_weight_splits(dst, dweight, count, size.splits, stream);
}

// Offsets within one image, and a tap's reach past it, are 32-bit.
std::string refusal(const Conv2dShape& s, ConvPass p) {
  const int64_t reach = (s.c * s.h + s.pad_h + s.dil_h * s.kh) * (s.w + s.pad_w + s.dil_w * s.kw);
  if (reach > INT_MAX || s.o * s.oh * s.ow > INT_MAX)
    return detail::concat("an image of ", s.c * s.h * s.w, " input or ", s.o * s.oh * s.ow,
                          " output values (with the filter's reach) exceeds its 32-bit offsets");
  rb::Size size;
  size.groups = int(s.groups);
  switch (p) {
    case ConvPass::forward:
      size.rows = s.n * s.oh * s.ow, size.cols = s.o / s.groups;
      return rb::grid_refusal<Tile<16>>(size);
    case ConvPass::backward_data:
      size.rows = s.n * s.h * s.w, size.cols = s.c / s.groups;
      return rb::grid_refusal<Tile<16>>(size);
    default:
      return rb::grid_refusal<Tile<32>>(weight_grad_size(s));
  }
}

}  // namespace

ConvVariant register_blocked_variant() {
  ConvVariant v;
  v.number = 4;
  v.name = "register-blocked implicit GEMM";
  v.unsupported = refusal;
  v.forward = forward;
  v.backward_data = backward_data;
  v.backward_weight = backward_weight;
  v.weight_workspace = weight_workspace;
  return v;
}

}  // namespace danlu::kernels::cuda
