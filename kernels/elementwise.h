// Elementwise kernels: binary ops with broadcasting, scaled copies,
// broadcast copies, permutation and slab copies. Raw pointers, no autograd.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels {

enum class BinaryOp { add, sub, mul, div };

// Where output element (i0, ..., i{n-1}) reads its operands: offset of a is
// sum(i_d * a_strides[d]); a stride of 0 repeats a broadcast dimension.
struct BroadcastIndex {
  int ndim = 0;
  int64_t sizes[8] = {};      // output sizes
  int64_t a_strides[8] = {};  // element strides of operand a in the output's frame
  int64_t b_strides[8] = {};
};

namespace cpu {

// out[i] = a[i] op b[i] over n elements (same shapes).
template <class T> void binary(BinaryOp op, const T* a, const T* b, T* out, int64_t n);
// out = a op b with broadcasting described by `index` (n = output numel).
template <class T>
void binary_broadcast(BinaryOp op, const T* a, const T* b, T* out, int64_t n,
                      const BroadcastIndex& index);
// y[i] = x[i] * scale + shift.
template <class T> void scale_shift(const T* x, T* y, int64_t n, T scale, T shift);
// out[i] = a[offset_a(i)] (a's strides in `index`), n = output numel.
template <class T>
void broadcast_copy(const T* a, T* out, int64_t n, const BroadcastIndex& index);
// y = x permuted: y's dim d is x's dim perm[d]. x sizes (ndim <= 8).
template <class T>
void permute(const T* x, T* y, int ndim, const int64_t* x_sizes, const int* perm);
// part (outer, rows, inner) -> whole (outer, rows_total, inner) at row
// `row_start`: the copy behind concat.
template <class T>
void slab_insert(const T* part, T* whole, int64_t outer, int64_t rows, int64_t inner,
                 int64_t rows_total, int64_t row_start);
// The inverse: whole (outer, rows_total, inner) rows [row_start, row_start +
// rows) -> part (outer, rows, inner); concat's backward.
template <class T>
void slab_extract(const T* whole, T* part, int64_t outer, int64_t rows, int64_t inner,
                  int64_t rows_total, int64_t row_start);

}  // namespace cpu

// The same kernels on a GPU (f32), enqueued on `stream`; pointers are device
// memory. Results equal the CPU's bit for bit: every output is one operation
// on its inputs (or a copy).
namespace cuda {

void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n, Stream stream);
void binary_broadcast(BinaryOp op, const float* a, const float* b, float* out, int64_t n,
                      const BroadcastIndex& index, Stream stream);
void scale_shift(const float* x, float* y, int64_t n, float scale, float shift, Stream stream);
void broadcast_copy(const float* a, float* out, int64_t n, const BroadcastIndex& index,
                    Stream stream);
void permute(const float* x, float* y, int ndim, const int64_t* x_sizes, const int* perm,
             Stream stream);
void slab_insert(const float* part, float* whole, int64_t outer, int64_t rows, int64_t inner,
                 int64_t rows_total, int64_t row_start, Stream stream);
void slab_extract(const float* whole, float* part, int64_t outer, int64_t rows, int64_t inner,
                  int64_t rows_total, int64_t row_start, Stream stream);

}  // namespace cuda
}  // namespace danlu::kernels
