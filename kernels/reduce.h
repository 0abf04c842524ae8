// Reduction kernels: sum over the middle axis of a (outer, reduce, inner)
// view, the building block of sum/mean over any set of dimensions.
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels {
namespace cpu {

// y[o, i] = sum_r x[o, r, i]; accumulates in double for f32 inputs.
template <class T>
void sum_middle(const T* x, T* y, int64_t outer, int64_t reduce, int64_t inner);

// y[o, i] = argmax_r x[o, r, i] (first maximum on ties).
template <class T>
void argmax_middle(const T* x, int64_t* y, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace cpu

// The same reductions on a GPU (f32, device pointers, enqueued on `stream`).
// Sums accumulate in double along a reduction tree fixed by the shape alone,
// so a given input gives the same bits on every run and every GPU; argmax
// returns exactly the CPU's index, NaN handling included.
namespace cuda {

void sum_middle(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner,
                Stream stream);
void argmax_middle(const float* x, int64_t* y, int64_t outer, int64_t reduce, int64_t inner,
                   Stream stream);

}  // namespace cuda
}  // namespace danlu::kernels
