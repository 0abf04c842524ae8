// Linear: y = x W^T + b over the last dimension, as torch.nn.Linear.
#pragma once

#include <cstdint>

#include "engine/random.h"
#include "layers/module.h"

namespace danlu::nn {

struct LinearOptions {
  int64_t in_features_;
  int64_t out_features_;
  bool bias_ = true;

  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& bias(bool b) { bias_ = b; return *this; }
};

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Linear(int64_t in_features, int64_t out_features)
      : Linear(LinearOptions(in_features, out_features)) {}

  // x (..., in_features) -> (..., out_features).
  Tensor forward(const Tensor& x) override;
  // PyTorch's default: weight ~ kaiming_uniform_(a = sqrt(5)), i.e.
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range.
  void reset_parameters(Generator* gen = nullptr);

  LinearOptions options;
  Tensor weight;  // (out_features, in_features)
  Tensor bias;    // (out_features), undefined when options.bias_ is false

 protected:
  std::string extra_repr() const override;
};

}  // namespace danlu::nn
