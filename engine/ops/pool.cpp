// Pooling ops: PyTorch's output-size rules and argument checks, then the
// kernels of the input's device (plane-parallel loops on the CPU, a thread
// per element on a GPU); max pooling saves its argmax indices (i32 offsets
// within a plane, half the bytes of i64), on the same device, for the
// backward.
#include "engine/ops/pool.h"

#include <limits>

#include "engine/ops/dispatch.h"
#include "engine/profile.h"
#include "kernels/pool.h"

namespace danlu {

using namespace ops_detail;

namespace {

std::string pair_str(const std::array<int64_t, 2>& a) {
  return detail::concat("(", a[0], ", ", a[1], ")");
}

void check_input(const char* op, const Tensor& x) {
  check_defined(op, x, "input");
  if (x.device().is_cuda()) check_cuda_f32(op, x);
  check_dim(op, x, 4, "input (N, C, H, W)");
}

// PyTorch's pooling_output_shape: floor (or ceil) of (in + 2*pad - k) /
// stride, plus one; with ceil_mode the last window must still start inside
// the input or its left padding. (Rounding is toward -inf, so a kernel larger
// than the padded input gives 0 windows, or 1 with ceil_mode, as in PyTorch.)
int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, bool ceil_mode) {
  const int64_t num = in + 2 * pad - k + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

kernels::Pool2dShape pool_shape(const char* op, const Tensor& x, const Pool2dParams& p) {
  check_input(op, x);
  const std::array<int64_t, 2> stride{p.stride[0] == 0 ? p.kernel[0] : p.stride[0],
                                      p.stride[1] == 0 ? p.kernel[1] : p.stride[1]};
  DANLU_CHECK(p.kernel[0] >= 1 && p.kernel[1] >= 1, op, ": kernel must be >= 1, got ",
              pair_str(p.kernel));
  DANLU_CHECK(stride[0] >= 1 && stride[1] >= 1, op,
              ": stride must be >= 1 (or 0 for the kernel size), got ", pair_str(p.stride));
  DANLU_CHECK(p.padding[0] >= 0 && p.padding[1] >= 0 && 2 * p.padding[0] <= p.kernel[0] &&
                  2 * p.padding[1] <= p.kernel[1],
              op, ": padding ", pair_str(p.padding), " must be >= 0 and at most half of kernel ",
              pair_str(p.kernel));
  // Larger windows fit no input, and pooled_size's sums must not overflow.
  constexpr int64_t kMaxWindow = int64_t(1) << 31;
  DANLU_CHECK(p.kernel[0] <= kMaxWindow && p.kernel[1] <= kMaxWindow && stride[0] <= kMaxWindow &&
                  stride[1] <= kMaxWindow,
              op, ": kernel ", pair_str(p.kernel), " and stride ", pair_str(stride),
              " must be at most 2^31");
  kernels::Pool2dShape s;
  s.planes = x.shape()[0] * x.shape()[1];
  s.h = x.shape()[2], s.w = x.shape()[3];
  s.kh = p.kernel[0], s.kw = p.kernel[1];
  s.stride_h = stride[0], s.stride_w = stride[1];
  s.pad_h = p.padding[0], s.pad_w = p.padding[1];
  s.oh = pooled_size(s.h, s.kh, s.pad_h, s.stride_h, p.ceil_mode);
  s.ow = pooled_size(s.w, s.kw, s.pad_w, s.stride_w, p.ceil_mode);
  DANLU_CHECK(s.oh >= 1 && s.ow >= 1, op, ": input ", x.shape(), " with padding ",
              pair_str(p.padding), " is too small for kernel ", pair_str(p.kernel),
              ": the output would be ", s.oh, "x", s.ow);
  return s;
}

Shape out_shape(const Tensor& x, const kernels::Pool2dShape& s) {
  return {x.shape()[0], x.shape()[1], s.oh, s.ow};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dParams& params) {
  DANLU_OP_RANGE("max_pool2d");
  const kernels::Pool2dShape s = pool_shape("max_pool2d", x, params);
  DANLU_CHECK(s.h * s.w <= std::numeric_limits<int32_t>::max(), "max_pool2d: input ", x.shape(),
              " has ", s.h * s.w, " positions per plane, more than the i32 argmax indices ",
              "address (2^31 - 1); pool a smaller input");
  Tensor y = empty_with(out_shape(x, s), x);
  Tensor indices = Tensor::empty(y.shape(), TensorOptions(DType::i32).device(x.device()));
  if (x.device().is_cuda()) {
    DANLU_CUDA_ONLY(kernels::cuda::max_pool2d_forward(x.data<float>(), y.data<float>(),
                                                      indices.data<int32_t>(), s, stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::max_pool2d_forward<T>(x.data<T>(), y.data<T>(), indices.data<int32_t>(), s);
    });
  }
  const Shape x_shape = x.shape();
  return record(y, "max_pool2d", {x}, [=](const Tensor& g) {
    Tensor dx = empty_with(x_shape, g);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::max_pool2d_backward(g.data<float>(), indices.data<int32_t>(),
                                                         dx.data<float>(), s, stream_of(g)));
      return std::vector<Tensor>{dx};
    }
    dispatch_floating(g.dtype(), "max_pool2d backward", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::max_pool2d_backward<T>(g.data<T>(), indices.data<int32_t>(), dx.data<T>(), s);
    });
    return std::vector<Tensor>{dx};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) {
  DANLU_OP_RANGE("avg_pool2d");
  const kernels::Pool2dShape s = pool_shape("avg_pool2d", x, params);
  const bool include_pad = params.count_include_pad;
  Tensor y = empty_with(out_shape(x, s), x);
  if (x.device().is_cuda()) {
    DANLU_CUDA_ONLY(kernels::cuda::avg_pool2d_forward(x.data<float>(), y.data<float>(), s,
                                                      include_pad, stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::avg_pool2d_forward<T>(x.data<T>(), y.data<T>(), s, include_pad);
    });
  }
  const Shape x_shape = x.shape();
  return record(y, "avg_pool2d", {x}, [=](const Tensor& g) {
    Tensor dx = empty_with(x_shape, g);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::avg_pool2d_backward(g.data<float>(), dx.data<float>(), s,
                                                         include_pad, stream_of(g)));
      return std::vector<Tensor>{dx};
    }
    dispatch_floating(g.dtype(), "avg_pool2d backward", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::avg_pool2d_backward<T>(g.data<T>(), dx.data<T>(), s, include_pad);
    });
    return std::vector<Tensor>{dx};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  DANLU_OP_RANGE("adaptive_avg_pool2d");
  const char* op = "adaptive_avg_pool2d";
  check_input(op, x);
  DANLU_CHECK(output_size[0] >= 1 && output_size[1] >= 1, op, ": output size must be >= 1, got ",
              pair_str(output_size));
  DANLU_CHECK(x.shape()[2] >= 1 && x.shape()[3] >= 1, op, ": input ", x.shape(),
              " has an empty plane");
  kernels::Pool2dShape s;
  s.planes = x.shape()[0] * x.shape()[1];
  s.h = x.shape()[2], s.w = x.shape()[3];
  s.oh = output_size[0], s.ow = output_size[1];
  Tensor y = empty_with(out_shape(x, s), x);
  if (x.device().is_cuda()) {
    DANLU_CUDA_ONLY(kernels::cuda::adaptive_avg_pool2d_forward(x.data<float>(), y.data<float>(), s,
                                                               stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adaptive_avg_pool2d_forward<T>(x.data<T>(), y.data<T>(), s);
    });
  }
  const Shape x_shape = x.shape();
  return record(y, op, {x}, [=](const Tensor& g) {
    Tensor dx = empty_with(x_shape, g);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::adaptive_avg_pool2d_backward(g.data<float>(),
                                                                  dx.data<float>(), s,
                                                                  stream_of(g)));
      return std::vector<Tensor>{dx};
    }
    dispatch_floating(g.dtype(), "adaptive_avg_pool2d backward", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::adaptive_avg_pool2d_backward<T>(g.data<T>(), dx.data<T>(), s);
    });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace danlu
