// Matrix products through BLAS: matmul (2-d, or batched 3-d), bmm, linear.
#pragma once

#include "engine/tensor.h"

namespace danlu {

// (M, K) x (K, N) -> (M, N); (B, M, K) x (B, K, N) -> (B, M, N).
Tensor matmul(const Tensor& a, const Tensor& b);
// (B, M, K) x (B, K, N) -> (B, M, N).
Tensor bmm(const Tensor& a, const Tensor& b);
// x (..., in) . weight (out, in)^T + bias (out) -> (..., out); bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace danlu
