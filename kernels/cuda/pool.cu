// CUDA pooling over (planes, H, W). The forwards run one thread per output
// element and walk its window as the CPU does. The backwards run one thread
// per input element and gather: each dx element visits the windows that
// contain it in (oy, ox) order, the order in which the CPU's scatter adds
// them, so the sums match the CPU's bit for bit and need no atomics.
#include <cmath>

#include "engine/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/pool.h"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// Pool2dShape's spatial sizes as ints (coordinates are divided per element).
struct PoolGeometry {
  int h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w;
};

PoolGeometry geometry(const Pool2dShape& s, int64_t total) {
  constexpr int64_t kMax = int64_t(1) << 30;
  const int64_t all[] = {s.h,        s.w,        s.oh,    s.ow,    s.kh,    s.kw,
                         s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.h * s.w, s.oh * s.ow};
  for (int64_t v : all)
    DANLU_CHECK(v < kMax, "pool2d (CUDA): spatial size ", v, " is too large (limit 2^30)");
  DANLU_CHECK((total + kThreads - 1) / kThreads <= 0x7fffffff, "pool2d (CUDA): ", total,
              " elements exceed the CUDA grid");
  return {int(s.h),        int(s.w),        int(s.oh),    int(s.ow),    int(s.kh),
          int(s.kw),       int(s.stride_h), int(s.stride_w), int(s.pad_h), int(s.pad_w)};
}

// One axis of a window, as the CPU's spans: input positions [lo, hi) and
// `padded`, the length clipped only to the padded input (the divisor of
// count_include_pad).
struct Span {
  int lo, hi, padded;
};

__device__ inline Span pool_span(int o, int size, int k, int stride, int pad) {
  const int start = o * stride - pad, end = min(start + k, size + pad);
  return {max(start, 0), min(end, size), end - start};
}

__device__ inline Span adaptive_span(int o, int size, int out) {
  const int lo = int(int64_t(o) * size / out);
  const int hi = int((int64_t(o + 1) * size + out - 1) / out);
  return {lo, hi, hi - lo};
}

// The windows [first, last] along one axis that can contain input position
// i: those starting at or before i whose k positions reach it.
__device__ inline void pool_windows(int i, int k, int stride, int pad, int out, int& first,
                                    int& last) {
  const int reach = i + pad - k;  // windows must start after this
  first = reach < 0 ? 0 : reach / stride + 1;
  last = min((i + pad) / stride, out - 1);
}

// The adaptive bins that can contain input position i: floor(i*out/size)
// through floor(((i+1)*out - 1)/size), clipped to the bins that exist.
__device__ inline void adaptive_windows(int i, int size, int out, int& first, int& last) {
  first = int(int64_t(i) * out / size);
  last = min(int((int64_t(i + 1) * out - 1) / size), out - 1);
}

__device__ inline int divisor(const Span& y, const Span& x, bool count_include_pad) {
  return count_include_pad ? y.padded * x.padded : (y.hi - y.lo) * (x.hi - x.lo);
}

// One thread per output (plane, oy, ox): the window maximum and its offset
// iy*W + ix in the plane. Padding counts as -inf, the first maximum wins and
// a NaN wins over numbers (v != v), as on the CPU.
__global__ void max_pool_forward(const float* x, float* y, int32_t* indices, PoolGeometry g,
                                 int64_t total) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t plane = e / (int64_t(g.oh) * g.ow);
  const int r = int(e % (int64_t(g.oh) * g.ow));
  const Span sy = pool_span(r / g.ow, g.h, g.kh, g.stride_h, g.pad_h);
  const Span sx = pool_span(r % g.ow, g.w, g.kw, g.stride_w, g.pad_w);
  const float* in = x + plane * g.h * g.w;
  float best = -INFINITY;
  int best_at = sy.lo * g.w + sx.lo;
  for (int iy = sy.lo; iy < sy.hi; ++iy) {
    for (int ix = sx.lo; ix < sx.hi; ++ix) {
      const float v = in[iy * g.w + ix];
      if (v > best || v != v) {
        best = v;
        best_at = iy * g.w + ix;
      }
    }
  }
  y[e] = best;
  indices[e] = best_at;
}

// One thread per input (plane, iy, ix): the sum of dy over the windows that
// contain it and chose it as their maximum.
__global__ void max_pool_backward(const float* dy, const int32_t* indices, float* dx,
                                  PoolGeometry g, int64_t total) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t plane = e / (int64_t(g.h) * g.w);
  const int r = int(e % (int64_t(g.h) * g.w)), iy = r / g.w, ix = r % g.w;
  int oy0, oy1, ox0, ox1;
  pool_windows(iy, g.kh, g.stride_h, g.pad_h, g.oh, oy0, oy1);
  pool_windows(ix, g.kw, g.stride_w, g.pad_w, g.ow, ox0, ox1);
  const int64_t base = plane * g.oh * g.ow;
  float acc = 0.f;
  for (int oy = oy0; oy <= oy1; ++oy)
    for (int ox = ox0; ox <= ox1; ++ox) {
      const int64_t k = base + oy * g.ow + ox;
      if (indices[k] == r) acc += dy[k];
    }
  dx[e] = acc;
}

// One thread per output (plane, oy, ox): the window mean, over pool windows
// or (adaptive) bins.
template <bool kAdaptive>
__global__ void avg_pool_forward(const float* x, float* y, PoolGeometry g, bool count_include_pad,
                                 int64_t total) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t plane = e / (int64_t(g.oh) * g.ow);
  const int r = int(e % (int64_t(g.oh) * g.ow)), oy = r / g.ow, ox = r % g.ow;
  const Span sy = kAdaptive ? adaptive_span(oy, g.h, g.oh)
                            : pool_span(oy, g.h, g.kh, g.stride_h, g.pad_h);
  const Span sx = kAdaptive ? adaptive_span(ox, g.w, g.ow)
                            : pool_span(ox, g.w, g.kw, g.stride_w, g.pad_w);
  const float* in = x + plane * g.h * g.w;
  float acc = 0.f;
  for (int iy = sy.lo; iy < sy.hi; ++iy)
    for (int ix = sx.lo; ix < sx.hi; ++ix) acc += in[iy * g.w + ix];
  y[e] = acc / static_cast<float>(divisor(sy, sx, count_include_pad));
}

// One thread per input (plane, iy, ix): the sum of dy / divisor over the
// windows (bins) that contain it. The candidate range is exact for pool
// windows; each candidate is still checked against its span so that the
// adaptive bins' rounding cannot add a bin that does not contain (iy, ix).
template <bool kAdaptive>
__global__ void avg_pool_backward(const float* dy, float* dx, PoolGeometry g,
                                  bool count_include_pad, int64_t total) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t plane = e / (int64_t(g.h) * g.w);
  const int r = int(e % (int64_t(g.h) * g.w)), iy = r / g.w, ix = r % g.w;
  int oy0, oy1, ox0, ox1;
  if (kAdaptive) {
    adaptive_windows(iy, g.h, g.oh, oy0, oy1);
    adaptive_windows(ix, g.w, g.ow, ox0, ox1);
  } else {
    pool_windows(iy, g.kh, g.stride_h, g.pad_h, g.oh, oy0, oy1);
    pool_windows(ix, g.kw, g.stride_w, g.pad_w, g.ow, ox0, ox1);
  }
  const float* grad = dy + plane * g.oh * g.ow;
  float acc = 0.f;
  for (int oy = oy0; oy <= oy1; ++oy) {
    const Span sy = kAdaptive ? adaptive_span(oy, g.h, g.oh)
                              : pool_span(oy, g.h, g.kh, g.stride_h, g.pad_h);
    if (iy < sy.lo || iy >= sy.hi) continue;
    for (int ox = ox0; ox <= ox1; ++ox) {
      const Span sx = kAdaptive ? adaptive_span(ox, g.w, g.ow)
                                : pool_span(ox, g.w, g.kw, g.stride_w, g.pad_w);
      if (ix < sx.lo || ix >= sx.hi) continue;
      acc += grad[oy * g.ow + ox] / static_cast<float>(divisor(sy, sx, count_include_pad));
    }
  }
  dx[e] = acc;
}

int64_t outputs(const Pool2dShape& s) { return s.planes * s.oh * s.ow; }
int64_t inputs(const Pool2dShape& s) { return s.planes * s.h * s.w; }

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* indices, const Pool2dShape& s,
                        Stream stream) {
  const int64_t total = outputs(s);
  launch("max_pool2d_forward", max_pool_forward, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, stream, x, y, indices, geometry(s, total), total);
}

void max_pool2d_backward(const float* dy, const int32_t* indices, float* dx,
                         const Pool2dShape& s, Stream stream) {
  const int64_t total = inputs(s);
  launch("max_pool2d_backward", max_pool_backward, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, stream, dy, indices, dx, geometry(s, total), total);
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, bool count_include_pad,
                        Stream stream) {
  const int64_t total = outputs(s);
  launch("avg_pool2d_forward", avg_pool_forward<false>, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, stream, x, y, geometry(s, total), count_include_pad, total);
}

void avg_pool2d_backward(const float* dy, float* dx, const Pool2dShape& s,
                         bool count_include_pad, Stream stream) {
  const int64_t total = inputs(s);
  launch("avg_pool2d_backward", avg_pool_backward<false>, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, stream, dy, dx, geometry(s, total), count_include_pad, total);
}

void adaptive_avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, Stream stream) {
  const int64_t total = outputs(s);
  launch("adaptive_avg_pool2d_forward", avg_pool_forward<true>,
         dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, stream, x, y, geometry(s, total),
         true, total);
}

void adaptive_avg_pool2d_backward(const float* dy, float* dx, const Pool2dShape& s,
                                  Stream stream) {
  const int64_t total = inputs(s);
  launch("adaptive_avg_pool2d_backward", avg_pool_backward<true>,
         dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, stream, dy, dx, geometry(s, total),
         true, total);
}

}  // namespace danlu::kernels::cuda
