// BasicBlock: builds torchvision's layer tree and runs the residual sum.
#include "layers/basic_block.h"

#include "engine/ops/activation.h"
#include "engine/ops/elementwise.h"

namespace danlu::nn {

namespace {
Conv2dOptions conv3x3(int64_t in, int64_t out, int64_t stride) {
  return Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false);
}
}  // namespace

BasicBlock::BasicBlock(const BasicBlockOptions& opts) : Module("BasicBlock"), options(opts) {
  const BasicBlockOptions& o = options;
  DANLU_CHECK(o.stride_ > 0, "BasicBlock: stride must be positive, got ", o.stride_);
  conv1 = register_module("conv1",
                          std::make_shared<Conv2d>(conv3x3(o.in_planes_, o.planes_, o.stride_)));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(o.planes_));
  relu = register_module("relu", std::make_shared<ReLU>());
  conv2 = register_module("conv2", std::make_shared<Conv2d>(conv3x3(o.planes_, o.planes_, 1)));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(o.planes_));
  if (o.stride_ != 1 || o.in_planes_ != o.planes_) {
    downsample = register_module(
        "downsample",
        std::make_shared<Sequential>(
            Conv2d(Conv2dOptions(o.in_planes_, o.planes_, 1).stride(o.stride_).bias(false)),
            BatchNorm2d(o.planes_)));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor h = (*conv1)(x);
  Tensor out = bn1->as_layer([&] { return bn1->forward_relu(h); });
  out = (*bn2)((*conv2)(out));
  const Tensor identity = downsample ? (*downsample)(x) : x;
  return (*relu)(out + identity);
}

}  // namespace danlu::nn
