// Reduction kernels: sum over the middle axis of a (outer, reduce, inner)
// view, the building block of sum/mean over any set of dimensions.
#pragma once

#include <cstdint>

namespace danlu::kernels::cpu {

// y[o, i] = sum_r x[o, r, i]; accumulates in double for f32 inputs.
template <class T>
void sum_middle(const T* x, T* y, int64_t outer, int64_t reduce, int64_t inner);

// y[o, i] = argmax_r x[o, r, i] (first maximum on ties).
template <class T>
void argmax_middle(const T* x, int64_t* y, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace danlu::kernels::cpu
