// Ready-made networks shared by the samples, the benchmarks and the tests,
// each with its BatchNorm + ReLU pairs fused (layers/batchnorm_relu.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "layers/sequential.h"

namespace danlu::nn {

// The Fashion-MNIST CNN: (conv3x3-BN-ReLU-maxpool2) with 32 then 64 channels,
// flatten, linear 64*7*7 -> 10. Input (N, 1, 28, 28), output logits (N, 10).
std::shared_ptr<Sequential> fashion_cnn();

// The CIFAR ResNet-20 of He et al. 2016 (section 4.2) with torchvision's
// names: conv1 (3x3, 16, no bias) - bn1 - relu, then layer1/2/3 of three
// BasicBlocks each with 16/32/64 channels (stride 2 and a 1x1-projection
// downsample entering layer2 and layer3), avgpool (global), flatten, fc.
// Input (N, in_channels, H, W), output logits (N, num_classes); 272,474
// parameters for 10 classes and 3 input channels.
std::shared_ptr<Sequential> resnet20(int64_t num_classes = 10, int64_t in_channels = 3);

// A multilayer perceptron: flatten, then for each hidden width a Linear, the
// activation and (when dropout > 0) a Dropout, then Linear -> num_classes.
// `activation` makes one activation module per hidden layer (ReLU when empty).
std::shared_ptr<Sequential> mlp(int64_t in_features, const std::vector<int64_t>& hidden,
                                int64_t num_classes,
                                const std::function<std::shared_ptr<Module>()>& activation = {},
                                double dropout = 0.0);

}  // namespace danlu::nn
