// Shape ops: reshape/flatten share the data; permute/transpose/concat/narrow copy.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace danlu {

// One size may be -1 and is inferred.
Tensor reshape(const Tensor& x, const std::vector<int64_t>& sizes);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor concat(const std::vector<Tensor>& xs, int64_t dim = 0);
// The `length` entries of dimension `dim` from `start` on (a copy), as
// torch.narrow; its backward scatters the gradient into zeros.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);

}  // namespace danlu
