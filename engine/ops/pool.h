// Pooling over the last two dimensions of (N, C, H, W) tensors.
#pragma once

#include <array>
#include <cstdint>

#include "engine/tensor.h"

namespace danlu {

struct Pool2dParams {
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{0, 0};  // 0 means "same as kernel" (PyTorch's default)
  std::array<int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};

// Padding is -inf for max pooling; ties pick the first maximum (PyTorch's rule).
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params);
// PyTorch's adaptive bins: start = floor(i*H/OH), end = ceil((i+1)*H/OH).
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);

}  // namespace danlu
