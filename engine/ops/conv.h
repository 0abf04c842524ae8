// 2-d convolution (cross-correlation, as PyTorch) with stride, padding,
// dilation and groups.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace danlu {

// The functional API's arguments (torch.nn.functional.conv2d's stride,
// padding, dilation and groups). conv2d() checks them with the tensors and
// turns both into the one kernels::Conv2dShape the kernels share.
struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// "" when stride, padding, dilation and groups are valid on their own (the
// layer checks its options with this at construction), otherwise one line
// naming the bad value and the valid range, after `who` ("conv2d").
std::string conv2d_params_error(const char* who, const Conv2dParams& p);

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

// Which of danlu's CUDA convolution variants (kernels/cuda/conv/, the
// ladder) run: 0 (the default) lets the dispatcher choose per shape and
// pass; N forces rung N wherever it runs that pass and shape, and elsewhere
// the dispatcher's choice runs, with a one-line note on stderr the first
// time (as cuDNN falls back when a forced algorithm cannot run). A number
// that is neither 0 nor a rung of the ladder is an error. Process-wide.
void set_conv_variant(int variant);
int conv_variant();

// Whether convolutions on a GPU may use TF32 tensor cores (inputs rounded to
// a 10-bit mantissa). On by default, as torch.backends.cudnn.allow_tf32; the
// ladder's TF32 rungs and cuDNN's math mode follow it. GEMMs have their own
// switch, off by default (danlu::set_allow_tf32). Process-wide.
void set_conv_allow_tf32(bool allow);
bool conv_allow_tf32();

}  // namespace danlu
