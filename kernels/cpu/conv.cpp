// CPU conv2d: im2col lowering plus OpenBLAS GEMM, a chunk of images at a
// time. A chunk's lowered input (C*KH*KW, nb*OH*OW) is wide enough for an
// efficient GEMM and small enough to still be in cache when the GEMM reads
// it. With enough chunks, OpenMP threads take whole chunks and each GEMM
// runs single-threaded inside them: one fork per call, each core's data in
// its own cache. Otherwise (batch 1, few large images) the chunks run one
// after another, and the GEMM and the copies around it are threaded inside.
//
// 3x3 stride-1 layers take the direct convolution instead where it is
// faster (kernels/cpu/conv_direct.cpp), which lowers nothing; see
// cpu_conv_path().
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "engine/error.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/gemm.h"

namespace danlu::kernels::cpu {

namespace {
constexpr int64_t kParallelGrain = 1 << 15;
// A chunk's lowered input is at most this many elements (1 MiB of f32,
// about an L2 cache) unless that would make its GEMM narrower than
// kMinGemmColumns.
constexpr int64_t kChunkElements = 1 << 18;
constexpr int64_t kMinGemmColumns = 1024;
// Chunks per thread when threads take whole chunks (dealt round-robin, so
// each thread gets the same ones every call), and the fewest per thread
// that keep the load balanced enough to prefer this over threaded GEMMs.
constexpr int64_t kChunksPerThread = 4;
constexpr int64_t kMinChunksPerThread = 2;

// Threads for a copy loop: only when it is large and not already inside a
// chunk-parallel region.
inline bool threaded(int64_t work) { return work > kParallelGrain && !omp_in_parallel(); }

// The output positions [lo, hi) of a row of `out` whose input position
// o*stride + offset lies inside [0, size).
struct Range {
  int64_t lo, hi;
};
inline Range valid_range(int64_t size, int64_t stride, int64_t offset, int64_t out) {
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  hi = std::min(hi, out);
  lo = std::min(lo, hi);
  return {lo, hi};
}

// How a call splits the batch: `chunks` chunks of `chunk` images (the last
// may be shorter), run by `threads` OpenMP threads (1: one after another).
struct Plan {
  int64_t chunk, chunks;
  int threads;
};

Plan make_plan(const Conv2dShape& s) {
  const int64_t plane = std::max<int64_t>(s.oh * s.ow, 1);
  const int64_t for_cache = kChunkElements / std::max<int64_t>(s.col_rows() * plane, 1);
  const int64_t for_gemm = (kMinGemmColumns + plane - 1) / plane;
  const int64_t batch = std::max<int64_t>(s.n, 1);
  const int64_t chunk = std::clamp<int64_t>(std::max(for_cache, for_gemm), 1, batch);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads > 1) {
    const int64_t small = std::clamp<int64_t>(s.n / (kChunksPerThread * threads), 1, chunk);
    const int64_t chunks = (s.n + small - 1) / small;
    if (chunks >= kMinChunksPerThread * threads) return {small, chunks, threads};
  }
  return {chunk, (s.n + chunk - 1) / chunk, 1};
}

int64_t chunk_workspace(const Conv2dShape& s, const Plan& p) {
  return (s.col_rows() + s.o) * p.chunk * s.oh * s.ow;
}

}  // namespace

// The wrapped-around columns of a moved plane (see shifted_plane), as the
// columns [first, last) of the rows inside the input.
struct Wrapped {
  int64_t first, last;
};
inline Wrapped wrapped_columns(int64_t w, int64_t x_off) {
  if (x_off > 0) return {std::max(w - x_off, int64_t(0)), w};
  return {0, std::min(-x_off, w)};
}

// With stride 1 and an output as wide as the input ("same" padding across),
// a tap's output plane is the input plane moved by y_off rows and x_off
// columns: the rows that stay inside the input are one contiguous copy of
// the moved plane, after which the |x_off| columns of each row that wrapped
// around from a neighbouring row are zeroed. The rows that fall outside are
// zero. One long copy instead of a short one per row: ResNet's 3x3 layers
// spend about half as long in im2col.
template <class T>
void shifted_plane(const T* in, T* dst, const Conv2dShape& s, int64_t y_off, int64_t x_off) {
  const int64_t w = s.w;
  const Range rows = valid_range(s.h, 1, y_off, s.oh);
  std::fill(dst, dst + rows.lo * w, T(0));
  std::fill(dst + rows.hi * w, dst + s.oh * w, T(0));
  const int64_t shift = y_off * w + x_off;  // dst[k] = in[k + shift] inside the rows
  const int64_t begin = std::max(rows.lo * w, -shift);
  const int64_t end = std::min(rows.hi * w, s.h * w - shift);
  if (begin < end) std::copy(in + begin + shift, in + end + shift, dst + begin);
  // Column by column: a one-element fill per row would be a memset call each.
  const Wrapped wrapped = wrapped_columns(w, x_off);
  for (int64_t ox = wrapped.first; ox < wrapped.last; ++ox)
    for (int64_t oy = rows.lo; oy < rows.hi; ++oy) dst[oy * w + ox] = T(0);
}

// One (row r, image b) pair per iteration: it fills the N*OH*OW columns'
// slice b of row r, OH*OW contiguous values read from one input plane.
template <class T>
void im2col(const T* x, T* cols, const Conv2dShape& s) {
  const int64_t rows = s.col_rows(), plane = s.oh * s.ow, ncols = s.col_cols();
  const int64_t kk = s.kh * s.kw;
  const bool same_width = s.stride_h == 1 && s.stride_w == 1 && s.ow == s.w;
#pragma omp parallel for collapse(2) if (threaded(rows * ncols))
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < s.n; ++b) {
      const int64_t c = r / kk, i = (r / s.kw) % s.kh, j = r % s.kw;
      const T* in = x + (b * s.c + c) * s.h * s.w;
      T* dst = cols + r * ncols + b * plane;
      const int64_t x_off = j * s.dil_w - s.pad_w, y_off = i * s.dil_h - s.pad_h;
      if (same_width && x_off > -s.w && x_off < s.w) {
        shifted_plane(in, dst, s, y_off, x_off);
        continue;
      }
      const Range xr = valid_range(s.w, s.stride_w, x_off, s.ow);
      for (int64_t oy = 0; oy < s.oh; ++oy) {
        T* row = dst + oy * s.ow;
        const int64_t iy = oy * s.stride_h + y_off;
        if (iy < 0 || iy >= s.h) {
          std::fill(row, row + s.ow, T(0));
          continue;
        }
        const T* in_row = in + iy * s.w;
        std::fill(row, row + xr.lo, T(0));
        if (s.stride_w == 1) {
          for (int64_t ox = xr.lo; ox < xr.hi; ++ox) row[ox] = in_row[ox + x_off];
        } else {
          for (int64_t ox = xr.lo; ox < xr.hi; ++ox) row[ox] = in_row[ox * s.stride_w + x_off];
        }
        std::fill(row + xr.hi, row + s.ow, T(0));
      }
    }
  }
}

// Most elements col2im's same-width path keeps aside per tap (|x_off| per row).
constexpr int64_t kMaxWrapped = 1024;

// col2im's counterpart of shifted_plane: out[k + shift] += src[k] over the
// rows inside the input, as one flat loop. That loop also adds each row's
// wrapped-around columns into the edge of a neighbouring row, so those
// elements are kept aside before it and put back after: every element gets
// exactly the additions of the row-by-row loop, in the same order.
template <class T>
void add_shifted_plane(const T* src, T* out, const Conv2dShape& s, int64_t y_off, int64_t x_off) {
  const int64_t w = s.w;
  const Range rows = valid_range(s.h, 1, y_off, s.oh);
  const int64_t shift = y_off * w + x_off;
  const int64_t begin = std::max(rows.lo * w, -shift);
  const int64_t end = std::min(rows.hi * w, s.h * w - shift);
  if (begin >= end) return;
  const Wrapped wrapped = wrapped_columns(w, x_off);
  T kept[kMaxWrapped];
  const auto each_wrapped = [&](auto&& fn) {
    int64_t n = 0;
    for (int64_t ox = wrapped.first; ox < wrapped.last; ++ox)
      for (int64_t oy = rows.lo; oy < rows.hi; ++oy) {
        const int64_t k = oy * w + ox;
        if (k >= begin && k < end) fn(out[k + shift], kept[n++]);
      }
  };
  each_wrapped([](const T& value, T& slot) { slot = value; });
  for (int64_t k = begin; k < end; ++k) out[k + shift] += src[k];
  each_wrapped([](T& value, const T& slot) { value = slot; });
}

// One input plane (b, c) per iteration: it gathers the KH*KW rows of cols
// that read from it, so no two iterations write the same element.
template <class T>
void col2im(const T* cols, T* dx, const Conv2dShape& s) {
  const int64_t plane = s.oh * s.ow, ncols = s.col_cols();
  const bool same_width = s.stride_h == 1 && s.stride_w == 1 && s.ow == s.w;
#pragma omp parallel for collapse(2) if (threaded(s.col_rows() * ncols))
  for (int64_t b = 0; b < s.n; ++b) {
    for (int64_t c = 0; c < s.c; ++c) {
      T* out = dx + (b * s.c + c) * s.h * s.w;
      std::fill(out, out + s.h * s.w, T(0));
      for (int64_t i = 0; i < s.kh; ++i) {
        for (int64_t j = 0; j < s.kw; ++j) {
          const T* src = cols + ((c * s.kh + i) * s.kw + j) * ncols + b * plane;
          const int64_t x_off = j * s.dil_w - s.pad_w, y_off = i * s.dil_h - s.pad_h;
          if (same_width && x_off > -s.w && x_off < s.w && std::abs(x_off) * s.oh <= kMaxWrapped) {
            add_shifted_plane(src, out, s, y_off, x_off);
            continue;
          }
          const Range xr = valid_range(s.w, s.stride_w, x_off, s.ow);
          for (int64_t oy = 0; oy < s.oh; ++oy) {
            const int64_t iy = oy * s.stride_h + y_off;
            if (iy < 0 || iy >= s.h) continue;
            T* out_row = out + iy * s.w;
            const T* src_row = src + oy * s.ow;
            if (s.stride_w == 1) {
              for (int64_t ox = xr.lo; ox < xr.hi; ++ox) out_row[ox + x_off] += src_row[ox];
            } else {
              for (int64_t ox = xr.lo; ox < xr.hi; ++ox)
                out_row[ox * s.stride_w + x_off] += src_row[ox];
            }
          }
        }
      }
    }
  }
}

CpuConvPath cpu_conv_path() {
  const char* env = std::getenv("DANLU_CPU_CONV");
  const std::string want = env && *env ? env : "auto";
  if (want == "auto") return CpuConvPath::automatic;
  if (want == "direct") return CpuConvPath::direct;
  if (want == "lowered") return CpuConvPath::lowered;
  DANLU_FAIL("DANLU_CPU_CONV=", want, ": expected auto, direct or lowered");
}

namespace {
bool runs_direct(const Conv2dShape& s, bool is_faster) {
  switch (cpu_conv_path()) {
    case CpuConvPath::automatic: return is_faster;
    case CpuConvPath::direct: return conv2d_direct_supports(s);
    case CpuConvPath::lowered: break;
  }
  return false;
}
}  // namespace

bool conv2d_runs_direct(const Conv2dShape& s) {
  return runs_direct(s, conv2d_direct_is_faster(s));
}

bool conv2d_runs_direct_weight(const Conv2dShape& s) {
  return runs_direct(s, conv2d_direct_weight_is_faster(s));
}

int64_t conv2d_workspace(const Conv2dShape& s) {
  const Plan p = make_plan(s);
  const int64_t partial_dweights = p.threads > 1 ? p.threads * s.o * s.col_rows() / s.groups : 0;
  const int64_t lowered = p.threads * chunk_workspace(s, p) + partial_dweights;
  const bool direct = conv2d_runs_direct(s) || conv2d_runs_direct_weight(s);
  return direct ? std::max(lowered, conv2d_direct_workspace(s)) : lowered;
}

namespace {

// Images [b0, b0 + nb): cols = im2col(x chunk) (C*KH*KW, nb*P); per group g,
// yt[g] (O/G, nb*P) = weight[g] (O/G, C/G*KH*KW) . cols[g]; then yt is
// transposed into y (nb, O, P) with the bias added. A one-image chunk
// writes y directly: there yt already has y's layout.
// workspace: [cols | yt], chunk_workspace() elements.
template <class T>
void forward_chunk(const T* x, const T* weight, const T* bias, T* y, T* workspace,
                   const Conv2dShape& s, int64_t b0, int64_t nb) {
  Conv2dShape cs = s;
  cs.n = nb;
  const int64_t plane = s.oh * s.ow, ncols = cs.col_cols();
  const int64_t og = s.o / s.groups, kg = s.col_rows() / s.groups;
  T* cols = workspace;
  T* y_chunk = y + b0 * s.o * plane;
  T* yt = nb == 1 ? y_chunk : workspace + s.col_rows() * ncols;
  im2col(x + b0 * s.c * s.h * s.w, cols, cs);
  for (int64_t g = 0; g < s.groups; ++g)
    gemm<T>(false, false, og, ncols, kg, T(1), weight + g * og * kg, kg, cols + g * kg * ncols,
            ncols, T(0), yt + g * og * ncols, ncols);
  if (nb == 1 && !bias) return;
#pragma omp parallel for collapse(2) if (threaded(s.o * ncols))
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t o = 0; o < s.o; ++o) {
      const T* src = yt + o * ncols + b * plane;
      T* dst = y_chunk + (b * s.o + o) * plane;
      const T shift = bias ? bias[o] : T(0);
      for (int64_t p = 0; p < plane; ++p) dst[p] = src[p] + shift;
    }
  }
}

// Images [b0, b0 + nb): dyt (O, nb*P) = the dy chunk transposed (dy itself
// for one image); per group dweight[g] = dyt[g] . cols[g]^T + dw_beta *
// dweight[g] with cols = im2col(x chunk), and dcols[g] = weight[g]^T . dyt[g],
// which col2im folds into the dx chunk. workspace: [cols | dyt].
template <class T>
void backward_chunk(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T dw_beta,
                    T* workspace, const Conv2dShape& s, int64_t b0, int64_t nb) {
  Conv2dShape cs = s;
  cs.n = nb;
  const int64_t plane = s.oh * s.ow, ncols = cs.col_cols();
  const int64_t og = s.o / s.groups, kg = s.col_rows() / s.groups;
  T* cols = workspace;
  const T* dy_chunk = dy + b0 * s.o * plane;
  const T* dyt = dy_chunk;
  if (nb > 1) {
    T* t = workspace + s.col_rows() * ncols;
#pragma omp parallel for collapse(2) if (threaded(s.o * ncols))
    for (int64_t o = 0; o < s.o; ++o) {
      for (int64_t b = 0; b < nb; ++b) {
        const T* src = dy_chunk + (b * s.o + o) * plane;
        std::copy(src, src + plane, t + o * ncols + b * plane);
      }
    }
    dyt = t;
  }
  if (dweight) {
    im2col(x + b0 * s.c * s.h * s.w, cols, cs);
    for (int64_t g = 0; g < s.groups; ++g)
      gemm<T>(false, true, og, kg, ncols, T(1), dyt + g * og * ncols, ncols, cols + g * kg * ncols,
              ncols, dw_beta, dweight + g * og * kg, kg);
  }
  if (dx) {
    for (int64_t g = 0; g < s.groups; ++g)
      gemm<T>(true, false, kg, ncols, og, T(1), weight + g * og * kg, kg, dyt + g * og * ncols,
              ncols, T(0), cols + g * kg * ncols, ncols);
    col2im(cols, dx + b0 * s.c * s.h * s.w, cs);
  }
}

}  // namespace

template <class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, T* workspace,
                    const Conv2dShape& s) {
  if (conv2d_runs_direct(s)) return conv2d_direct_forward(x, weight, bias, y, workspace, s);
  const Plan p = make_plan(s);
  const int64_t per_thread = chunk_workspace(s, p);
  if (p.threads == 1) {
    for (int64_t k = 0; k < p.chunks; ++k)
      forward_chunk(x, weight, bias, y, workspace, s, k * p.chunk,
                    std::min(p.chunk, s.n - k * p.chunk));
    return;
  }
#pragma omp parallel num_threads(p.threads)
  {
    const int t = omp_get_thread_num();
    for (int64_t k = t; k < p.chunks; k += omp_get_num_threads())
      forward_chunk(x, weight, bias, y, workspace + t * per_thread, s, k * p.chunk,
                    std::min(p.chunk, s.n - k * p.chunk));
  }
}

// Threads that take whole chunks each sum their chunks' dweight into their
// own slice of the workspace; the slices are added in thread order, so the
// result does not depend on timing.
template <class T>
void conv2d_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias,
                     T* workspace, const Conv2dShape& s) {
  const int64_t plane = s.oh * s.ow;
  if (dbias) {
#pragma omp parallel for if (threaded(s.o * s.n * plane))
    for (int64_t o = 0; o < s.o; ++o) {
      double acc = 0.0;  // N*OH*OW terms: accumulate f32 in double
      for (int64_t b = 0; b < s.n; ++b) {
        const T* src = dy + (b * s.o + o) * plane;
        for (int64_t k = 0; k < plane; ++k) acc += src[k];
      }
      dbias[o] = static_cast<T>(acc);
    }
  }
  if (dx && conv2d_runs_direct(s)) {
    conv2d_direct_backward_data(weight, dy, dx, workspace, s);
    dx = nullptr;
  }
  if (dweight && conv2d_runs_direct_weight(s)) {
    conv2d_direct_backward_weight(x, dy, dweight, workspace, s);
    dweight = nullptr;
  }
  const int64_t dw_size = s.o * s.col_rows() / s.groups;
  if (dweight && s.n == 0) std::fill(dweight, dweight + dw_size, T(0));
  if (!dweight && !dx) return;
  const Plan p = make_plan(s);
  const int64_t per_thread = chunk_workspace(s, p);
  if (p.threads == 1) {
    for (int64_t k = 0; k < p.chunks; ++k)
      backward_chunk(x, weight, dy, dx, dweight, k == 0 ? T(0) : T(1), workspace, s, k * p.chunk,
                     std::min(p.chunk, s.n - k * p.chunk));
    return;
  }
  T* partials = workspace + p.threads * per_thread;
  if (dweight) std::fill(partials, partials + p.threads * dw_size, T(0));
#pragma omp parallel num_threads(p.threads)
  {
    const int t = omp_get_thread_num();
    for (int64_t k = t; k < p.chunks; k += omp_get_num_threads())
      backward_chunk(x, weight, dy, dx, dweight ? partials + t * dw_size : nullptr, T(1),
                     workspace + t * per_thread, s, k * p.chunk,
                     std::min(p.chunk, s.n - k * p.chunk));
  }
  if (dweight) {
    std::copy(partials, partials + dw_size, dweight);
    for (int t = 1; t < p.threads; ++t)
      for (int64_t i = 0; i < dw_size; ++i) dweight[i] += partials[t * dw_size + i];
  }
}

#define DANLU_INSTANTIATE(T)                                                                 \
  template void im2col<T>(const T*, T*, const Conv2dShape&);                                 \
  template void col2im<T>(const T*, T*, const Conv2dShape&);                                 \
  template void conv2d_forward<T>(const T*, const T*, const T*, T*, T*, const Conv2dShape&); \
  template void conv2d_backward<T>(const T*, const T*, const T*, T*, T*, T*, T*,             \
                                   const Conv2dShape&);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
