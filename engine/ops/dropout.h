// Inverted dropout: in training, zeroes each element with probability p and
// scales the survivors by 1/(1-p); the identity in eval or when p == 0.
#pragma once

#include "engine/tensor.h"

namespace danlu {

class Generator;

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace danlu
