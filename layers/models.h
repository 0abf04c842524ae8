// Ready-made networks shared by the samples, the benchmarks and the tests.
#pragma once

#include <memory>

#include "layers/sequential.h"

namespace danlu::nn {

// The Fashion-MNIST CNN: (conv3x3-BN-ReLU-maxpool2) with 32 then 64 channels,
// flatten, linear 64*7*7 -> 10. Input (N, 1, 28, 28), output logits (N, 10).
std::shared_ptr<Sequential> fashion_cnn();

}  // namespace danlu::nn
