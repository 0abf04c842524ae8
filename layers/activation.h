// Pointwise activation modules (no parameters): ReLU, LeakyReLU, ELU, GELU,
// SiLU, Sigmoid, Tanh, as their torch.nn namesakes.
#pragma once

#include <string>

#include "engine/ops/activation.h"
#include "layers/module.h"

namespace danlu::nn {

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};

struct LeakyReLUOptions {
  double negative_slope_ = 0.01;
  LeakyReLUOptions& negative_slope(double s) { negative_slope_ = s; return *this; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(const LeakyReLUOptions& opts = {}) : Module("LeakyReLU"), options(opts) {}
  Tensor forward(const Tensor& x) override;
  LeakyReLUOptions options;

 protected:
  std::string extra_repr() const override;
};

struct ELUOptions {
  double alpha_ = 1.0;
  ELUOptions& alpha(double a) { alpha_ = a; return *this; }
};

class ELU : public Module {
 public:
  explicit ELU(const ELUOptions& opts = {}) : Module("ELU"), options(opts) {}
  Tensor forward(const Tensor& x) override;
  ELUOptions options;

 protected:
  std::string extra_repr() const override;
};

struct GELUOptions {
  std::string approximate_ = "none";  // "none" (exact erf) or "tanh"
  GELUOptions& approximate(std::string a) { approximate_ = std::move(a); return *this; }
};

class GELU : public Module {
 public:
  explicit GELU(const GELUOptions& opts = {});
  Tensor forward(const Tensor& x) override;
  GELUOptions options;

 protected:
  std::string extra_repr() const override;

 private:
  GeluApproximate approximate_;
};

class SiLU : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
};

class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;
};

}  // namespace danlu::nn
