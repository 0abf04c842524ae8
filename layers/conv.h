// Conv2d: 2-d cross-correlation over (N, C, H, W), as torch.nn.Conv2d.
#pragma once

#include <cstdint>

#include "engine/random.h"
#include "layers/expanding_array.h"
#include "layers/module.h"

namespace danlu::nn {

struct Conv2dOptions {
  int64_t in_channels_;
  int64_t out_channels_;
  ExpandingArray<2> kernel_size_;
  ExpandingArray<2> stride_ = 1;
  ExpandingArray<2> padding_ = 0;
  ExpandingArray<2> dilation_ = 1;
  int64_t groups_ = 1;
  bool bias_ = true;

  Conv2dOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  Conv2dOptions& stride(ExpandingArray<2> s) { stride_ = s; return *this; }
  Conv2dOptions& padding(ExpandingArray<2> p) { padding_ = p; return *this; }
  Conv2dOptions& dilation(ExpandingArray<2> d) { dilation_ = d; return *this; }
  Conv2dOptions& groups(int64_t g) { groups_ = g; return *this; }
  Conv2dOptions& bias(bool b) { bias_ = b; return *this; }
};

class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);

  // x (N, in_channels, H, W) -> (N, out_channels, OH, OW).
  Tensor forward(const Tensor& x) override;
  // PyTorch's default: weight ~ kaiming_uniform_(a = sqrt(5)) and bias
  // ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * KH * KW.
  void reset_parameters(Generator* gen = nullptr);

  Conv2dOptions options;
  Tensor weight;  // (out_channels, in_channels / groups, KH, KW)
  Tensor bias;    // (out_channels), undefined when options.bias_ is false

 protected:
  std::string extra_repr() const override;
};

}  // namespace danlu::nn
