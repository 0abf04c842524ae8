// CPU reference for the elementwise kernels: plain loops, OpenMP over
// elements when the tensor is large enough to pay for the threads.
#include "kernels/elementwise.h"

#include <algorithm>

namespace danlu::kernels::cpu {

namespace {
constexpr int64_t kParallelGrain = 1 << 15;

template <class T>
inline T apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
  }
  return T(0);
}

// Offsets of output element i in operands a and b.
inline void offsets(const BroadcastIndex& index, int64_t i, int64_t* a, int64_t* b) {
  *a = 0;
  *b = 0;
  for (int d = index.ndim - 1; d >= 0; --d) {
    const int64_t coord = i % index.sizes[d];
    i /= index.sizes[d];
    *a += coord * index.a_strides[d];
    *b += coord * index.b_strides[d];
  }
}

// Walks the output row by row along its last dimension: a row's operand
// offsets are computed once (the divisions), then
// row(out_start, a_start, b_start, len, a_step, b_step) runs a strided loop.
template <class Row>
void for_each_row(const BroadcastIndex& index, int64_t n, Row&& row) {
  const int last = index.ndim - 1;
  const int64_t len = index.ndim > 0 ? index.sizes[last] : 1;
  if (n == 0 || len == 0) return;
  const int64_t a_step = index.ndim > 0 ? index.a_strides[last] : 0;
  const int64_t b_step = index.ndim > 0 ? index.b_strides[last] : 0;
  const int64_t rows = n / len;
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t ia, ib;
    offsets(index, r * len, &ia, &ib);
    row(r * len, ia, ib, len, a_step, b_step);
  }
}
}  // namespace

template <class T>
void binary(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) out[i] = apply(op, a[i], b[i]);
}

template <class T>
void binary_broadcast(BinaryOp op, const T* a, const T* b, T* out, int64_t n,
                      const BroadcastIndex& index) {
  for_each_row(index, n, [&](int64_t o, int64_t ia, int64_t ib, int64_t len, int64_t sa,
                             int64_t sb) {
    for (int64_t i = 0; i < len; ++i) out[o + i] = apply(op, a[ia + i * sa], b[ib + i * sb]);
  });
}

template <class T>
void scale_shift(const T* x, T* y, int64_t n, T scale, T shift) {
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

template <class T>
void broadcast_copy(const T* a, T* out, int64_t n, const BroadcastIndex& index) {
  for_each_row(index, n, [&](int64_t o, int64_t ia, int64_t, int64_t len, int64_t sa, int64_t) {
    if (sa == 1) {
      std::copy(a + ia, a + ia + len, out + o);
    } else {
      for (int64_t i = 0; i < len; ++i) out[o + i] = a[ia + i * sa];
    }
  });
}

// A permute is a broadcast copy whose source strides are x's, reordered.
template <class T>
void permute(const T* x, T* y, int ndim, const int64_t* x_sizes, const int* perm) {
  int64_t x_strides[8], n = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    x_strides[d] = n;
    n *= x_sizes[d];
  }
  BroadcastIndex index;
  index.ndim = ndim;
  for (int d = 0; d < ndim; ++d) {
    index.sizes[d] = x_sizes[perm[d]];
    index.a_strides[d] = x_strides[perm[d]];
  }
  broadcast_copy(x, y, n, index);
}

template <class T>
void slab_insert(const T* part, T* whole, int64_t outer, int64_t rows, int64_t inner,
                 int64_t rows_total, int64_t row_start) {
  const int64_t chunk = rows * inner;
  for (int64_t o = 0; o < outer; ++o)
    std::copy(part + o * chunk, part + (o + 1) * chunk,
              whole + (o * rows_total + row_start) * inner);
}

template <class T>
void slab_extract(const T* whole, T* part, int64_t outer, int64_t rows, int64_t inner,
                  int64_t rows_total, int64_t row_start) {
  const int64_t chunk = rows * inner;
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = whole + (o * rows_total + row_start) * inner;
    std::copy(src, src + chunk, part + o * chunk);
  }
}

#define DANLU_INSTANTIATE(T)                                                                  \
  template void binary<T>(BinaryOp, const T*, const T*, T*, int64_t);                         \
  template void binary_broadcast<T>(BinaryOp, const T*, const T*, T*, int64_t,                \
                                    const BroadcastIndex&);                                   \
  template void scale_shift<T>(const T*, T*, int64_t, T, T);                                  \
  template void broadcast_copy<T>(const T*, T*, int64_t, const BroadcastIndex&);              \
  template void permute<T>(const T*, T*, int, const int64_t*, const int*);                    \
  template void slab_insert<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);    \
  template void slab_extract<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
