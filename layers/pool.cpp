// Pooling modules: option checks (PyTorch's), the stride default, and the
// calls into ops/pool.
#include "layers/pool.h"

#include "engine/ops/pool.h"
#include "layers/repr.h"

namespace danlu::nn {

namespace {

// The checks PyTorch makes, with the layer's name; fills in the stride.
template <class Options>
void check_window(const char* layer, Options& o) {
  if (!o.stride_) o.stride_ = o.kernel_size_;
  const ExpandingArray<2>& k = o.kernel_size_;
  const ExpandingArray<2>& s = *o.stride_;
  const ExpandingArray<2>& p = o.padding_;
  DANLU_CHECK(k[0] > 0 && k[1] > 0 && s[0] > 0 && s[1] > 0, layer, ": kernel_size ",
              detail::py_tuple(k.array()), " and stride ", detail::py_tuple(s.array()),
              " must be positive");
  DANLU_CHECK(p[0] >= 0 && p[1] >= 0 && p[0] <= k[0] / 2 && p[1] <= k[1] / 2, layer,
              ": padding ", detail::py_tuple(p.array()),
              " must be non-negative and at most half the kernel size ",
              detail::py_tuple(k.array()));
}

template <class Options>
Pool2dParams pool_params(const Options& o) {
  Pool2dParams params;
  params.kernel = o.kernel_size_.array();
  params.stride = o.stride_->array();
  params.padding = o.padding_.array();
  params.ceil_mode = o.ceil_mode_;
  return params;
}

void check_input(const char* layer, const Tensor& x) {
  DANLU_CHECK(x.dim() == 4, layer, ": expected a 4-d input (N, C, H, W), got ", x.shape());
}

}  // namespace

MaxPool2d::MaxPool2d(const MaxPool2dOptions& opts) : Module("MaxPool2d"), options(opts) {
  check_window("MaxPool2d", options);
}

Tensor MaxPool2d::forward(const Tensor& x) {
  check_input("MaxPool2d", x);
  return max_pool2d(x, pool_params(options));
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + detail::py_size(options.kernel_size_.array()) +
         ", stride=" + detail::py_size(options.stride_->array()) +
         ", padding=" + detail::py_size(options.padding_.array()) +
         ", dilation=1, ceil_mode=" + detail::py_bool(options.ceil_mode_);
}

AvgPool2d::AvgPool2d(const AvgPool2dOptions& opts) : Module("AvgPool2d"), options(opts) {
  check_window("AvgPool2d", options);
}

Tensor AvgPool2d::forward(const Tensor& x) {
  check_input("AvgPool2d", x);
  Pool2dParams params = pool_params(options);
  params.count_include_pad = options.count_include_pad_;
  return avg_pool2d(x, params);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + detail::py_size(options.kernel_size_.array()) +
         ", stride=" + detail::py_size(options.stride_->array()) +
         ", padding=" + detail::py_size(options.padding_.array());
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(const AdaptiveAvgPool2dOptions& opts)
    : Module("AdaptiveAvgPool2d"), options(opts) {
  const ExpandingArray<2>& s = options.output_size_;
  DANLU_CHECK(s[0] > 0 && s[1] > 0, "AdaptiveAvgPool2d: output_size ", detail::py_tuple(s.array()),
              " must be positive");
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  check_input("AdaptiveAvgPool2d", x);
  return adaptive_avg_pool2d(x, options.output_size_.array());
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=" + detail::py_size(options.output_size_.array());
}

}  // namespace danlu::nn
