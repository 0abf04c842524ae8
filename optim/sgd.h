// Stochastic gradient descent with momentum, dampening, Nesterov momentum and
// L2 weight decay, with exactly torch.optim.SGD's update rule and defaults.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace danlu::optim {

struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  SGDOptions& lr(double v) { lr_ = v; return *this; }
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }

  double lr_;
  double momentum_ = 0.0;
  double dampening_ = 0.0;
  double weight_decay_ = 0.0;
  bool nesterov_ = false;
};

class SGD {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);

  // Updates every parameter that requires grad and has a gradient.
  void step();
  // Drops every parameter's gradient (PyTorch's set_to_none).
  void zero_grad();

  SGDOptions& options() { return options_; }  // e.g. to set a new learning rate
  const std::vector<Tensor>& params() const { return params_; }

 private:
  std::vector<Tensor> params_;
  std::vector<Tensor> momentum_buffers_;  // undefined until a parameter's first step
  SGDOptions options_;
};

}  // namespace danlu::optim
