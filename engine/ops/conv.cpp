// conv2d: the one place its arguments are checked (the kernels trust the
// Conv2dShape made here), then the kernels of the tensors' device (on the
// CPU im2col + GEMM; on a GPU the conv ladder's dispatcher, or cuDNN when
// chosen) for the forward, and one backward call that computes only the
// gradients the inputs need (a network's first conv never computes
// d(input)).
#include "engine/ops/conv.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>

#include "engine/ops/dispatch.h"
#include "engine/profile.h"
#include "kernels/conv.h"
#ifdef DANLU_WITH_CUDNN
#include "kernels/cudnn.h"
#endif

namespace danlu {

using namespace ops_detail;

namespace {

std::atomic<ConvBackend> g_conv_backend{ConvBackend::ours};
std::atomic<int> g_conv_variant{0};
std::atomic<bool> g_conv_tf32{true};

std::string pair_str(const std::array<int64_t, 2>& a) {
  return detail::concat("(", a[0], ", ", a[1], ")");
}

kernels::Conv2dShape conv_shape(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const Conv2dParams& p) {
  const char* op = "conv2d";
  check_defined(op, x, "input");
  check_defined(op, weight, "weight");
  check_same_kind(op, {&x, &weight, &bias});
  if (x.device().is_cuda()) check_cuda_f32(op, x);
  check_dim(op, x, 4, "input (N, C, H, W)");
  check_dim(op, weight, 4, "weight (O, C/groups, KH, KW)");
  const std::string bad = conv2d_params_error(op, p);
  DANLU_CHECK(bad.empty(), bad);
  constexpr int64_t kMax = int64_t(1) << 31;

  const Shape& xs = x.shape();
  const Shape& ws = weight.shape();
  DANLU_CHECK(ws[0] % p.groups == 0, op, ": weight ", ws, " has ", ws[0],
              " output channels, which groups=", p.groups, " does not divide");
  DANLU_CHECK(xs[1] == ws[1] * p.groups, op, ": input ", xs, " has ", xs[1],
              " channels but weight ", ws, " with groups=", p.groups, " expects ",
              ws[1] * p.groups);
  if (bias.defined()) {
    DANLU_CHECK(bias.dim() == 1 && bias.shape()[0] == ws[0], op, ": bias ", bias.shape(),
                " does not match weight ", ws, ": expected (", ws[0], ")");
  }

  kernels::Conv2dShape s;
  s.n = xs[0], s.c = xs[1], s.h = xs[2], s.w = xs[3];
  s.o = ws[0], s.kh = ws[2], s.kw = ws[3];
  s.stride_h = p.stride[0], s.stride_w = p.stride[1];
  s.pad_h = p.padding[0], s.pad_w = p.padding[1];
  s.dil_h = p.dilation[0], s.dil_w = p.dilation[1];
  s.groups = p.groups;
  DANLU_CHECK(s.kh <= kMax && s.kw <= kMax, op, ": weight ", ws, ": kernel larger than 2^31");
  const int64_t span_h = s.dil_h * (s.kh - 1) + 1, span_w = s.dil_w * (s.kw - 1) + 1;
  DANLU_CHECK(s.h + 2 * s.pad_h >= span_h && s.w + 2 * s.pad_w >= span_w && s.kh >= 1 && s.kw >= 1,
              op, ": input ", xs, " with padding ", pair_str(p.padding),
              " is smaller than the kernel of weight ", ws, " with dilation ", pair_str(p.dilation),
              " (spans ", span_h, "x", span_w, ")");
  s.oh = (s.h + 2 * s.pad_h - span_h) / s.stride_h + 1;
  s.ow = (s.w + 2 * s.pad_w - span_w) / s.stride_w + 1;
#ifdef DANLU_WITH_CUDA
  if (x.device().is_cuda()) {
    const std::string too_large = kernels::cuda::conv2d_unsupported(s);
    DANLU_CHECK(too_large.empty(), op, ": input ", xs, ", weight ", ws, ": ", too_large);
  }
#endif
  return s;
}

#ifdef DANLU_WITH_CUDA
// The variant settings of the moment; a forced variant that cannot run a
// pass says so once per message (a network repeats its shapes every step).
kernels::cuda::ConvSettings settings_for(const kernels::Conv2dShape& s) {
  const kernels::cuda::ConvSettings settings{conv_variant(), conv_allow_tf32()};
  if (settings.variant == 0) return settings;
  static std::mutex mutex;
  static std::set<std::string> said;
  for (kernels::cuda::ConvPass p : {kernels::cuda::ConvPass::forward,
                                    kernels::cuda::ConvPass::backward_data,
                                    kernels::cuda::ConvPass::backward_weight}) {
    std::string note;
    kernels::cuda::conv2d_choose(s, p, settings, &note);
    if (note.empty()) continue;
    note = detail::concat("conv2d (", s.n, ", ", s.c, ", ", s.h, ", ", s.w, ") * (", s.o, ", ",
                          s.c / s.groups, ", ", s.kh, ", ", s.kw, "): ", note);
    const std::lock_guard<std::mutex> lock(mutex);
    if (said.insert(note).second) std::fprintf(stderr, "danlu: note: %s\n", note.c_str());
  }
  return settings;
}

void cuda_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                  const kernels::Conv2dShape& s) {
  const kernels::Stream stream = stream_of(x);
#ifdef DANLU_WITH_CUDNN
  if (conv_backend() == ConvBackend::cudnn)
    return kernels::cudnn::conv2d_forward(x.data<float>(), weight.data<float>(),
                                          data_or_null<float>(bias), y.data<float>(), s, stream,
                                          conv_allow_tf32());
#endif
  kernels::cuda::conv2d_forward(x.data<float>(), weight.data<float>(), data_or_null<float>(bias),
                                y.data<float>(), s, stream, settings_for(s));
}

void cuda_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, const Tensor& dx,
                   const Tensor& dweight, const Tensor& dbias, const kernels::Conv2dShape& s) {
  const kernels::Stream stream = stream_of(dy);
#ifdef DANLU_WITH_CUDNN
  if (conv_backend() == ConvBackend::cudnn)
    return kernels::cudnn::conv2d_backward(data_or_null<float>(x), data_or_null<float>(weight),
                                           dy.data<float>(), data_or_null<float>(dx),
                                           data_or_null<float>(dweight),
                                           data_or_null<float>(dbias), s, stream,
                                           conv_allow_tf32());
#endif
  const kernels::cuda::ConvSettings settings = settings_for(s);
  const bool reduces = dweight.defined() || dbias.defined();
  const int64_t scratch = reduces ? kernels::cuda::conv2d_workspace(s, settings) : 0;
  Tensor workspace = scratch > 0 ? empty_with({scratch}, dy) : Tensor();
  kernels::cuda::conv2d_backward(data_or_null<float>(x), data_or_null<float>(weight),
                                 dy.data<float>(), data_or_null<float>(dx),
                                 data_or_null<float>(dweight), data_or_null<float>(dbias),
                                 data_or_null<float>(workspace), s, stream, settings);
}
#endif

}  // namespace

// Why a build has no cuDNN, as its configure said (cmake/cudnn.cmake).
#if !defined(DANLU_WITH_CUDNN) && !defined(DANLU_CUDNN_NOTE)
#define DANLU_CUDNN_NOTE "this build has no CUDA backend"
#endif

std::string cudnn_status() {
#ifdef DANLU_WITH_CUDNN
  return "cuDNN " + kernels::cudnn::version() + " (comparison backend: --conv-backend cudnn)";
#else
  return std::string("no cuDNN comparison backend: ") + DANLU_CUDNN_NOTE;
#endif
}

void set_conv_backend(ConvBackend backend) {
#ifndef DANLU_WITH_CUDNN
  DANLU_CHECK(backend != ConvBackend::cudnn, "conv backend cudnn: this build of danlu has no cuDNN (",
              DANLU_CUDNN_NOTE, "); use the default backend, or reconfigure with CUDNN_ROOT set");
#endif
  g_conv_backend = backend;
}

ConvBackend conv_backend() { return g_conv_backend; }

void set_conv_variant(int variant) {
  DANLU_CHECK(variant == 0 || kernels::cuda::conv2d_is_rung(variant), "conv variant ", variant,
              ": expected 0 (automatic) or a rung of ", kernels::cuda::conv2d_variant_numbers(),
              " (kernels/cuda/conv/)");
  g_conv_variant = variant;
}

int conv_variant() { return g_conv_variant; }

void set_conv_allow_tf32(bool allow) { g_conv_tf32 = allow; }

bool conv_allow_tf32() { return g_conv_tf32; }

std::string conv2d_params_error(const char* who, const Conv2dParams& p) {
  // The upper bounds keep the span and output-size arithmetic from
  // overflowing; no input is that large.
  constexpr int64_t kMax = int64_t(1) << 31;
  const auto in = [](const std::array<int64_t, 2>& a, int64_t lo, int64_t hi) {
    return a[0] >= lo && a[1] >= lo && a[0] <= hi && a[1] <= hi;
  };
  if (!in(p.stride, 1, kMax))
    return detail::concat(who, ": stride must be in [1, 2^31], got ", pair_str(p.stride));
  if (!in(p.dilation, 1, kMax))
    return detail::concat(who, ": dilation must be in [1, 2^31], got ", pair_str(p.dilation));
  if (!in(p.padding, 0, kMax))
    return detail::concat(who, ": padding must be in [0, 2^31], got ", pair_str(p.padding));
  if (p.groups < 1) return detail::concat(who, ": groups must be >= 1, got ", p.groups);
  return "";
}

ConvBackend parse_conv_backend(const std::string& name) {
  if (name == "ours") return ConvBackend::ours;
  if (name == "cudnn") return ConvBackend::cudnn;
  DANLU_FAIL("conv backend: expected \"ours\" or \"cudnn\", got \"", name, "\"");
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& params) {
  DANLU_OP_RANGE("conv2d");
  const kernels::Conv2dShape s = conv_shape(x, weight, bias, params);
  Tensor y = empty_with({s.n, s.o, s.oh, s.ow}, x);
  if (x.device().is_cuda()) {
    DANLU_CUDA_ONLY(cuda_forward(x, weight, bias, y, s));
  } else {
    Tensor workspace = empty_with({kernels::cpu::conv2d_workspace(s)}, x);
    dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::conv2d_forward<T>(x.data<T>(), weight.data<T>(),
                                      data_or_null<T>(bias), y.data<T>(),
                                      workspace.data<T>(), s);
    });
  }
  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();
  // Save only what the needed gradients read: x for dweight, weight for dx.
  Tensor saved_x = need_dw ? x.detach() : Tensor();
  Tensor saved_w = need_dx ? weight.detach() : Tensor();
  return record(y, "conv2d", {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_dx ? empty_with({s.n, s.c, s.h, s.w}, g) : Tensor();
    Tensor dw = need_dw ? empty_with({s.o, s.c / s.groups, s.kh, s.kw}, g) : Tensor();
    Tensor db = need_db ? empty_with({s.o}, g) : Tensor();
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(cuda_backward(saved_x, saved_w, g, dx, dw, db, s));
      return std::vector<Tensor>{dx, dw, db};
    }
    Tensor workspace = empty_with({kernels::cpu::conv2d_workspace(s)}, g);
    dispatch_floating(g.dtype(), "conv2d backward", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::conv2d_backward<T>(data_or_null<T>(saved_x), data_or_null<T>(saved_w),
                                       g.data<T>(), data_or_null<T>(dx), data_or_null<T>(dw),
                                       data_or_null<T>(db), workspace.data<T>(), s);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace danlu
