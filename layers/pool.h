// Pooling modules over (N, C, H, W): MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,
// as their torch.nn namesakes.
#pragma once

#include <optional>

#include "layers/expanding_array.h"
#include "layers/module.h"

namespace danlu::nn {

struct MaxPool2dOptions {
  ExpandingArray<2> kernel_size_;
  std::optional<ExpandingArray<2>> stride_;  // the kernel size when unset
  ExpandingArray<2> padding_ = 0;            // at most half the kernel
  bool ceil_mode_ = false;

  MaxPool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
  MaxPool2dOptions& stride(ExpandingArray<2> s) { stride_ = s; return *this; }
  MaxPool2dOptions& padding(ExpandingArray<2> p) { padding_ = p; return *this; }
  MaxPool2dOptions& ceil_mode(bool c) { ceil_mode_ = c; return *this; }
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options);
  explicit MaxPool2d(ExpandingArray<2> kernel_size) : MaxPool2d(MaxPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  MaxPool2dOptions options;

 protected:
  std::string extra_repr() const override;
};

struct AvgPool2dOptions {
  ExpandingArray<2> kernel_size_;
  std::optional<ExpandingArray<2>> stride_;  // the kernel size when unset
  ExpandingArray<2> padding_ = 0;            // at most half the kernel
  bool ceil_mode_ = false;
  bool count_include_pad_ = true;  // padded zeros count in the average

  AvgPool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
  AvgPool2dOptions& stride(ExpandingArray<2> s) { stride_ = s; return *this; }
  AvgPool2dOptions& padding(ExpandingArray<2> p) { padding_ = p; return *this; }
  AvgPool2dOptions& ceil_mode(bool c) { ceil_mode_ = c; return *this; }
  AvgPool2dOptions& count_include_pad(bool c) { count_include_pad_ = c; return *this; }
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options);
  explicit AvgPool2d(ExpandingArray<2> kernel_size) : AvgPool2d(AvgPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  AvgPool2dOptions options;

 protected:
  std::string extra_repr() const override;
};

struct AdaptiveAvgPool2dOptions {
  ExpandingArray<2> output_size_;
  AdaptiveAvgPool2dOptions(ExpandingArray<2> output_size) : output_size_(output_size) {}  // NOLINT
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(const AdaptiveAvgPool2dOptions& options);
  explicit AdaptiveAvgPool2d(ExpandingArray<2> output_size)
      : AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions(output_size)) {}
  Tensor forward(const Tensor& x) override;
  AdaptiveAvgPool2dOptions options;

 protected:
  std::string extra_repr() const override;
};

}  // namespace danlu::nn
