// Conv2d: option checks, parameters and the forward call into ops::conv2d
// (which checks the tensors against the options and runs the kernels).
#include "layers/conv.h"

#include "engine/ops/conv.h"
#include "layers/default_init.h"
#include "layers/repr.h"

namespace danlu::nn {

namespace {

// The functional op's arguments, from the layer's options.
Conv2dParams params_of(const Conv2dOptions& o) {
  Conv2dParams p;
  p.stride = o.stride_.array();
  p.padding = o.padding_.array();
  p.dilation = o.dilation_.array();
  p.groups = o.groups_;
  return p;
}

}  // namespace

// The options are checked here, once: stride, padding, dilation and groups
// by the op's own rule (conv2d_params_error), so the layer and the
// functional API accept the same values with the same message.
Conv2d::Conv2d(const Conv2dOptions& opts) : Module("Conv2d"), options(opts) {
  const Conv2dOptions& o = options;
  DANLU_CHECK(o.in_channels_ > 0 && o.out_channels_ > 0, "Conv2d: in_channels and out_channels ",
              "must be positive, got ", o.in_channels_, " and ", o.out_channels_);
  DANLU_CHECK(o.kernel_size_[0] >= 1 && o.kernel_size_[1] >= 1, "Conv2d: kernel_size ",
              detail::py_tuple(o.kernel_size_.array()), " must be positive");
  const std::string bad = conv2d_params_error("Conv2d", params_of(o));
  DANLU_CHECK(bad.empty(), bad);
  DANLU_CHECK(o.in_channels_ % o.groups_ == 0 && o.out_channels_ % o.groups_ == 0,
              "Conv2d: in_channels (", o.in_channels_, ") and out_channels (", o.out_channels_,
              ") must both be divisible by groups (", o.groups_, ")");
  weight = register_parameter("weight", Tensor::empty({o.out_channels_, o.in_channels_ / o.groups_,
                                                       o.kernel_size_[0], o.kernel_size_[1]}));
  if (o.bias_) bias = register_parameter("bias", Tensor::empty({o.out_channels_}));
  reset_parameters();
}

void Conv2d::reset_parameters(Generator* gen) {
  detail::reset_affine_parameters(weight, bias, gen);
}

Tensor Conv2d::forward(const Tensor& x) {
  DANLU_CHECK(x.dim() == 4, "Conv2d: expected a 4-d input (N, C, H, W), got ", x.shape());
  DANLU_CHECK(x.size(1) == options.in_channels_, "Conv2d: expected ", options.in_channels_,
              " input channels, got ", x.size(1), " (input ", x.shape(), ")");
  return conv2d(x, weight, bias, params_of(options));
}

// PyTorch prints stride always, and padding, dilation, groups, bias only
// when they differ from the defaults.
std::string Conv2d::extra_repr() const {
  const Conv2dOptions& o = options;
  std::string out = std::to_string(o.in_channels_) + ", " + std::to_string(o.out_channels_) +
                    ", kernel_size=" + detail::py_tuple(o.kernel_size_.array()) +
                    ", stride=" + detail::py_tuple(o.stride_.array());
  if (o.padding_[0] != 0 || o.padding_[1] != 0)
    out += ", padding=" + detail::py_tuple(o.padding_.array());
  if (o.dilation_[0] != 1 || o.dilation_[1] != 1)
    out += ", dilation=" + detail::py_tuple(o.dilation_.array());
  if (o.groups_ != 1) out += ", groups=" + std::to_string(o.groups_);
  if (!o.bias_) out += ", bias=False";
  return out;
}

}  // namespace danlu::nn
