// Flatten: merges dims start_dim..end_dim into one, by default everything
// after the batch dim, as torch.nn.Flatten.
#pragma once

#include <cstdint>

#include "layers/module.h"

namespace danlu::nn {

struct FlattenOptions {
  int64_t start_dim_ = 1;
  int64_t end_dim_ = -1;
  FlattenOptions& start_dim(int64_t d) { start_dim_ = d; return *this; }
  FlattenOptions& end_dim(int64_t d) { end_dim_ = d; return *this; }
};

class Flatten : public Module {
 public:
  explicit Flatten(const FlattenOptions& opts = {}) : Module("Flatten"), options(opts) {}
  Tensor forward(const Tensor& x) override;
  FlattenOptions options;

 protected:
  std::string extra_repr() const override;
};

}  // namespace danlu::nn
