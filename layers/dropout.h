// Dropout: in training, zeroes each element with probability p and scales
// the rest by 1/(1-p); the identity in eval. As torch.nn.Dropout.
#pragma once

#include "engine/random.h"
#include "layers/module.h"

namespace danlu::nn {

struct DropoutOptions {
  double p_ = 0.5;
  Generator* generator_ = nullptr;  // the default generator when null; not owned

  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: Dropout(0.2)
  DropoutOptions& p(double value) { p_ = value; return *this; }
  DropoutOptions& generator(Generator* g) { generator_ = g; return *this; }
};

class Dropout : public Module {
 public:
  explicit Dropout(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x) override;
  DropoutOptions options;

 protected:
  std::string extra_repr() const override;
};

}  // namespace danlu::nn
