// 2-d convolution (cross-correlation, as PyTorch) with stride, padding,
// dilation and groups.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace danlu {

struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O) or undefined
// -> (N, O, OH, OW) with OH = (H + 2*pad - dil*(KH-1) - 1) / stride + 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dParams& params = {});

// Which kernels run conv2d on a GPU: danlu's own (the default) or cuDNN, the
// comparison backend (`--conv-backend cudnn`). CPU tensors always use the CPU
// kernels. The setting is process-wide.
enum class ConvBackend { ours, cudnn };
// Throws danlu::Error for ConvBackend::cudnn when this build has no cuDNN.
void set_conv_backend(ConvBackend backend);
ConvBackend conv_backend();
// "cuDNN 9.19.0 (...)" when this build has the cuDNN backend, otherwise why
// not (e.g. "no cuDNN comparison backend: cudnn.h ... is cuDNN 8; ...").
std::string cudnn_status();
// "ours" or "cudnn", as the command line spells them; anything else throws.
ConvBackend parse_conv_backend(const std::string& name);

}  // namespace danlu
