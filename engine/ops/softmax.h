// Softmax and log-softmax along one dimension (max-subtracted, stable).
#pragma once

#include "engine/tensor.h"

namespace danlu {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace danlu
