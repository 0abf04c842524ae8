// Reductions: sum and mean over all elements or over a list of dimensions.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace danlu {

Tensor sum(const Tensor& x);  // 0-d result
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// Index (i64) of the largest value along `dim`, the first one on ties; not differentiable.
Tensor argmax(const Tensor& x, int64_t dim);

}  // namespace danlu
