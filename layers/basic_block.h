// BasicBlock: ResNet's two-conv residual block, with torchvision's names:
// conv1 (3x3, stride s) - bn1 - relu - conv2 (3x3) - bn2, plus the shortcut
// (identity, or downsample = 1x1 conv with stride s + BN when the stride or
// the channel count changes), then relu.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/module.h"
#include "layers/sequential.h"

namespace danlu::nn {

struct BasicBlockOptions {
  int64_t in_planes_;
  int64_t planes_;  // output channels (BasicBlock's expansion is 1)
  int64_t stride_ = 1;

  BasicBlockOptions(int64_t in_planes, int64_t planes) : in_planes_(in_planes), planes_(planes) {}
  BasicBlockOptions& stride(int64_t s) { stride_ = s; return *this; }
};

class BasicBlock : public Module {
 public:
  explicit BasicBlock(const BasicBlockOptions& options);

  // x (N, in_planes, H, W) -> (N, planes, H / stride, W / stride).
  Tensor forward(const Tensor& x) override;

  BasicBlockOptions options;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Sequential> downsample;  // null when the shortcut is the identity
};

}  // namespace danlu::nn
