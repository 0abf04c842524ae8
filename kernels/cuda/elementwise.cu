// CUDA elementwise kernels: binary ops (float4 when aligned), scale-shift,
// broadcast and permuted copies, and the slab copies behind concat. Every
// kernel is a grid-stride loop, so any n fits a bounded grid, and every output
// element is one IEEE operation on its inputs, so results equal the CPU's.
#include "kernels/elementwise.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;
// Enough blocks to fill any current GPU several times over; the grid-stride
// loops cover the rest.
constexpr int64_t kMaxBlocks = 8192;

unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>(blocks_for(n, kThreads), kMaxBlocks));
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <BinaryOp op>
__device__ __forceinline__ float apply(float a, float b) {
  if constexpr (op == BinaryOp::add) {
    return a + b;
  } else if constexpr (op == BinaryOp::sub) {
    return a - b;
  } else if constexpr (op == BinaryOp::mul) {
    return a * b;
  } else {
    return a / b;
  }
}

// out = a op b, n elements. Each thread handles whole float4 groups in a
// grid-stride loop; the n % 4 tail elements go to the grid's first threads.
// Needs a, b and out 16-byte aligned.
template <BinaryOp op>
__global__ void binary_vec4_kernel(const float* a, const float* b, float* out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t groups = n / 4;
  const float4* a4 = reinterpret_cast<const float4*>(a);
  const float4* b4 = reinterpret_cast<const float4*>(b);
  float4* out4 = reinterpret_cast<float4*>(out);
  for (int64_t i = tid; i < groups; i += stride) {
    const float4 x = a4[i], y = b4[i];
    out4[i] = make_float4(apply<op>(x.x, y.x), apply<op>(x.y, y.y), apply<op>(x.z, y.z),
                          apply<op>(x.w, y.w));
  }
  const int64_t tail = groups * 4 + tid;
  if (tail < n) out[tail] = apply<op>(a[tail], b[tail]);
}

// out = a op b, n elements, any alignment: one element per thread per
// grid-stride iteration.
template <BinaryOp op>
__global__ void binary_kernel(const float* a, const float* b, float* out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    out[i] = apply<op>(a[i], b[i]);
}

// Offsets of output element i in operands a and b (index.ndim <= 8).
__device__ __forceinline__ void offsets(const BroadcastIndex& index, int64_t i, int64_t* a,
                                        int64_t* b) {
  *a = 0;
  *b = 0;
  for (int d = index.ndim - 1; d >= 0; --d) {
    const int64_t coord = i % index.sizes[d];
    i /= index.sizes[d];
    *a += coord * index.a_strides[d];
    *b += coord * index.b_strides[d];
  }
}

// out[i] = a[offset_a(i)] op b[offset_b(i)]: each thread computes its
// output elements' operand offsets from the (collapsed) index.
template <BinaryOp op>
__global__ void binary_broadcast_kernel(const float* a, const float* b, float* out, int64_t n,
                                        BroadcastIndex index) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t ia, ib;
    offsets(index, i, &ia, &ib);
    out[i] = apply<op>(a[ia], b[ib]);
  }
}

// y = x * scale + shift, one element per thread per grid-stride iteration;
// the multiply and the add are rounded separately (no fused multiply-add), as
// on the CPU.
__global__ void scale_shift_kernel(const float* x, float* y, int64_t n, float scale,
                                   float shift) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    y[i] = __fadd_rn(__fmul_rn(x[i], scale), shift);
}

// out[i] = a[offset_a(i)]: each thread gathers its output elements; writes
// are coalesced, reads follow a's strides. Behind broadcast_copy and permute.
__global__ void gather_kernel(const float* a, float* out, int64_t n, BroadcastIndex index) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t ia, ib;
    offsets(index, i, &ia, &ib);
    out[i] = a[ia];
  }
}

// Copies `outer` slabs of `chunk` contiguous elements between a packed
// buffer and a strided one (slab o of the strided one starts at
// o * strided_pitch + strided_start). Each thread copies elements of the
// packed numbering in a grid-stride loop; `insert` picks the direction.
template <bool insert>
__global__ void slab_kernel(const float* src, float* dst, int64_t outer, int64_t chunk,
                            int64_t strided_pitch, int64_t strided_start) {
  const int64_t n = outer * chunk;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const int64_t strided = (i / chunk) * strided_pitch + strided_start + i % chunk;
    if constexpr (insert) {
      dst[strided] = src[i];
    } else {
      dst[i] = src[strided];
    }
  }
}

// The same index with size-1 dimensions dropped and neighbouring dimensions
// merged wherever both operands step through them as through one dimension,
// so the kernels divide by as few sizes as possible (a bias add over
// (N, C, H, W) becomes three: N, C and H*W).
BroadcastIndex collapse(const BroadcastIndex& in) {
  BroadcastIndex out;
  for (int d = 0; d < in.ndim; ++d) {
    if (in.sizes[d] == 1) continue;
    const int k = out.ndim - 1;
    if (k >= 0 && out.a_strides[k] == in.a_strides[d] * in.sizes[d] &&
        out.b_strides[k] == in.b_strides[d] * in.sizes[d]) {
      out.sizes[k] *= in.sizes[d];
      out.a_strides[k] = in.a_strides[d];
      out.b_strides[k] = in.b_strides[d];
    } else {
      out.sizes[out.ndim] = in.sizes[d];
      out.a_strides[out.ndim] = in.a_strides[d];
      out.b_strides[out.ndim] = in.b_strides[d];
      ++out.ndim;
    }
  }
  return out;
}

template <BinaryOp op>
void binary_as(const float* a, const float* b, float* out, int64_t n, Stream stream) {
  if (aligned16(a) && aligned16(b) && aligned16(out)) {
    launch("binary_vec4", binary_vec4_kernel<op>, grid_for(n / 4 + 1), kThreads, 0, stream, a,
           b, out, n);
  } else {
    launch("binary", binary_kernel<op>, grid_for(n), kThreads, 0, stream, a, b, out, n);
  }
}

template <BinaryOp op>
void binary_broadcast_as(const float* a, const float* b, float* out, int64_t n,
                         const BroadcastIndex& index, Stream stream) {
  launch("binary_broadcast", binary_broadcast_kernel<op>, grid_for(n), kThreads, 0, stream, a,
         b, out, n, collapse(index));
}

}  // namespace

void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n, Stream stream) {
  if (n == 0) return;
  switch (op) {
    case BinaryOp::add: return binary_as<BinaryOp::add>(a, b, out, n, stream);
    case BinaryOp::sub: return binary_as<BinaryOp::sub>(a, b, out, n, stream);
    case BinaryOp::mul: return binary_as<BinaryOp::mul>(a, b, out, n, stream);
    case BinaryOp::div: return binary_as<BinaryOp::div>(a, b, out, n, stream);
  }
}

void binary_broadcast(BinaryOp op, const float* a, const float* b, float* out, int64_t n,
                      const BroadcastIndex& index, Stream stream) {
  if (n == 0) return;
  switch (op) {
    case BinaryOp::add: return binary_broadcast_as<BinaryOp::add>(a, b, out, n, index, stream);
    case BinaryOp::sub: return binary_broadcast_as<BinaryOp::sub>(a, b, out, n, index, stream);
    case BinaryOp::mul: return binary_broadcast_as<BinaryOp::mul>(a, b, out, n, index, stream);
    case BinaryOp::div: return binary_broadcast_as<BinaryOp::div>(a, b, out, n, index, stream);
  }
}

void scale_shift(const float* x, float* y, int64_t n, float scale, float shift, Stream stream) {
  if (n == 0) return;
  launch("scale_shift", scale_shift_kernel, grid_for(n), kThreads, 0, stream, x, y, n, scale,
         shift);
}

void broadcast_copy(const float* a, float* out, int64_t n, const BroadcastIndex& index,
                    Stream stream) {
  if (n == 0) return;
  launch("broadcast_copy", gather_kernel, grid_for(n), kThreads, 0, stream, a, out, n,
         collapse(index));
}

// A permutation is a gather whose index walks y's dimensions with x's
// strides (operand b of the index is unused and mirrors a, so collapsing
// merges exactly the dimensions that stay adjacent in x).
void permute(const float* x, float* y, int ndim, const int64_t* x_sizes, const int* perm,
             Stream stream) {
  int64_t x_strides[8], n = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    x_strides[d] = n;
    n *= x_sizes[d];
  }
  if (n == 0) return;
  BroadcastIndex index;
  index.ndim = ndim;
  for (int d = 0; d < ndim; ++d) {
    index.sizes[d] = x_sizes[perm[d]];
    index.a_strides[d] = index.b_strides[d] = x_strides[perm[d]];
  }
  launch("permute", gather_kernel, grid_for(n), kThreads, 0, stream, x, y, n, collapse(index));
}

void slab_insert(const float* part, float* whole, int64_t outer, int64_t rows, int64_t inner,
                 int64_t rows_total, int64_t row_start, Stream stream) {
  const int64_t chunk = rows * inner;
  if (outer * chunk == 0) return;
  launch("slab_insert", slab_kernel<true>, grid_for(outer * chunk), kThreads, 0, stream, part,
         whole, outer, chunk, rows_total * inner, row_start * inner);
}

void slab_extract(const float* whole, float* part, int64_t outer, int64_t rows, int64_t inner,
                  int64_t rows_total, int64_t row_start, Stream stream) {
  const int64_t chunk = rows * inner;
  if (outer * chunk == 0) return;
  launch("slab_extract", slab_kernel<false>, grid_for(outer * chunk), kThreads, 0, stream,
         whole, part, outer, chunk, rows_total * inner, row_start * inner);
}

}  // namespace danlu::kernels::cuda
