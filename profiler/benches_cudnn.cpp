// Conv and batch-norm benches: danlu's kernels beside cuDNN's on the same
// buffers, as engine/ops/conv.cpp and norm.cpp call them in training.
#include "profiler/benches.h"

#ifdef DANLU_WITH_CUDA

#include "engine/cuda_context.h"
#include "kernels/batchnorm.h"
#include "kernels/conv.h"
#ifdef DANLU_WITH_CUDNN
#include "kernels/cudnn.h"
#endif

namespace danlu::profiler {

namespace {

class ConvBench : public Bench {
 public:
  ConvBench(const kernels::Conv2dShape& s, Device device, kernels::cuda::ConvSettings settings)
      : s_(s), settings_(settings), stream_(compute_stream(device)),
        x_(device_rand({s.n, s.c, s.h, s.w}, device)),
        w_(device_rand({s.o, s.c / s.groups, s.kh, s.kw}, device)),
        dy_(device_rand({s.n, s.o, s.oh, s.ow}, device)),
        y_(device_empty({s.n, s.o, s.oh, s.ow}, device)),
        dx_(device_empty({s.n, s.c, s.h, s.w}, device)),
        dw_(device_empty({s.o, s.c / s.groups, s.kh, s.kw}, device)),
        workspace_(device_empty(
            {std::max<int64_t>(kernels::cuda::conv2d_workspace(s, settings), 1)}, device)) {}

  // Ours: the variant the settings choose for this pass; cuDNN in the same
  // math mode (strict FP32, or TF32 where the settings allow it).
  Launchers launchers(Direction d) override {
    const float *x = x_.data<float>(), *w = w_.data<float>(), *dy = dy_.data<float>();
    float *y = y_.data<float>(), *dx = dx_.data<float>(), *dw = dw_.data<float>();
    float* ws = workspace_.data<float>();
    const kernels::Conv2dShape s = s_;
    const kernels::cuda::ConvSettings set = settings_;
    const kernels::Stream st = stream_;
    [[maybe_unused]] const bool tf32 = set.allow_tf32;
    Launchers l;
    switch (d) {
      case Direction::forward:
        l.ours = [=] { kernels::cuda::conv2d_forward(x, w, nullptr, y, s, st, set); };
#ifdef DANLU_WITH_CUDNN
        l.vendor = [=] { kernels::cudnn::conv2d_forward(x, w, nullptr, y, s, st, tf32); };
#endif
        break;
      case Direction::backward_data:
        l.ours = [=] {
          kernels::cuda::conv2d_backward(x, w, dy, dx, nullptr, nullptr, ws, s, st, set);
        };
#ifdef DANLU_WITH_CUDNN
        l.vendor = [=] {
          kernels::cudnn::conv2d_backward(x, w, dy, dx, nullptr, nullptr, s, st, tf32);
        };
#endif
        break;
      default:  // backward_weight
        l.ours = [=] {
          kernels::cuda::conv2d_backward(x, w, dy, nullptr, dw, nullptr, ws, s, st, set);
        };
#ifdef DANLU_WITH_CUDNN
        l.vendor = [=] {
          kernels::cudnn::conv2d_backward(x, w, dy, nullptr, dw, nullptr, s, st, tf32);
        };
#endif
        break;
    }
    if (l.vendor) l.vendor_name = "cuDNN";
    return l;
  }

 private:
  kernels::Conv2dShape s_;
  kernels::cuda::ConvSettings settings_;
  kernels::Stream stream_;
  Tensor x_, w_, dy_, y_, dx_, dw_, workspace_;
};

// Training mode: the forward computes batch statistics and moves the running
// ones; the backward reads the statistics one forward saved.
class BatchNormBench : public Bench {
 public:
  BatchNormBench(const BatchNormWork& b, Device device)
      : b_(b), stream_(compute_stream(device)),
        x_(device_rand({b.n, b.c, b.s}, device)), dy_(device_rand({b.n, b.c, b.s}, device)),
        y_(device_empty({b.n, b.c, b.s}, device)), dx_(device_empty({b.n, b.c, b.s}, device)),
        weight_(device_rand({b.c}, device)), bias_(device_rand({b.c}, device)),
        running_mean_(device_rand({b.c}, device)), running_var_(device_rand({b.c}, device)),
        save_mean_(device_empty({b.c}, device)), save_invstd_(device_empty({b.c}, device)),
        dweight_(device_empty({b.c}, device)), dbias_(device_empty({b.c}, device)) {
    launchers(Direction::forward).ours();  // the statistics the backward reads
  }

  Launchers launchers(Direction d) override {
    const float *x = x_.data<float>(), *dy = dy_.data<float>(), *w = weight_.data<float>(),
                *b = bias_.data<float>();
    float *y = y_.data<float>(), *dx = dx_.data<float>(), *rm = running_mean_.data<float>(),
          *rv = running_var_.data<float>(), *sm = save_mean_.data<float>(),
          *si = save_invstd_.data<float>(), *dw = dweight_.data<float>(),
          *db = dbias_.data<float>();
    const int64_t N = b_.n, C = b_.c, S = b_.s;
    const kernels::Stream st = stream_;
    Launchers l;
    if (d == Direction::forward) {
      l.ours = [=] {
        kernels::cuda::batchnorm_forward_train(x, w, b, y, sm, si, rm, rv, N, C, S, kMomentum,
                                               kEps, st);
      };
#ifdef DANLU_WITH_CUDNN
      l.vendor = [=] {
        kernels::cudnn::batchnorm_forward_train(x, w, b, y, sm, si, rm, rv, N, C, S, kMomentum,
                                                kEps, st);
      };
#endif
    } else {
      l.ours = [=] {
        kernels::cuda::batchnorm_backward(dy, x, w, sm, si, dx, dw, db, N, C, S, true, st);
      };
#ifdef DANLU_WITH_CUDNN
      l.vendor = [=] {
        kernels::cudnn::batchnorm_backward_train(dy, x, w, sm, si, dx, dw, db, N, C, S, kEps, st);
      };
#endif
    }
    if (l.vendor) l.vendor_name = "cuDNN";
    return l;
  }

 private:
  static constexpr double kMomentum = 0.1, kEps = 1e-5;  // PyTorch's defaults
  BatchNormWork b_;
  kernels::Stream stream_;
  Tensor x_, dy_, y_, dx_, weight_, bias_, running_mean_, running_var_, save_mean_,
      save_invstd_, dweight_, dbias_;
};

}  // namespace

std::unique_ptr<Bench> make_conv_bench(const ConvWork& w, Device device,
                                       const kernels::cuda::ConvSettings& settings) {
  return std::make_unique<ConvBench>(w.s, device, settings);
}

std::unique_ptr<Bench> make_batchnorm_bench(const BatchNormWork& w, Device device) {
  return std::make_unique<BatchNormBench>(w, device);
}

}  // namespace danlu::profiler

#endif  // DANLU_WITH_CUDA
