// The benches without a vendor kernel wired (layer norm, activations,
// pooling, softmax cross-entropy, the fused SGD update) and cuBLAS's GEMMs,
// plus the buffers every bench starts from.
#include "profiler/benches.h"

#ifdef DANLU_WITH_CUDA

#include <algorithm>

#include "engine/cuda_context.h"
#include "kernels/activation.h"
#include "kernels/cuda/check.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "kernels/optim.h"
#include "kernels/pool.h"
#include "kernels/softmax_xent.h"

namespace danlu::profiler {

bool built_with_cudnn() {
#ifdef DANLU_WITH_CUDNN
  return true;
#else
  return false;
#endif
}

Tensor device_empty(const Shape& shape, Device device, DType dtype) {
  return Tensor::empty(shape, TensorOptions(dtype).device(device));
}

// Random numbers are drawn on the host, so a large buffer repeats one block
// of 1M values instead of drawing every element (only the timing matters).
Tensor device_rand(const Shape& shape, Device device) {
  constexpr int64_t kBlock = 1 << 20;
  const int64_t n = shape.numel();
  if (n <= kBlock) return Tensor::rand(shape, TensorOptions(DType::f32).device(device));
  Tensor out = device_empty(shape, device);
  const Tensor block = Tensor::rand({kBlock}, TensorOptions(DType::f32).device(device));
  for (int64_t at = 0; at < n; at += kBlock)
    DANLU_CUDA_CHECK(cudaMemcpyAsync(out.data<float>() + at, block.data<float>(),
                                     std::min(kBlock, n - at) * sizeof(float),
                                     cudaMemcpyDeviceToDevice, compute_stream(device)));
  return out;
}

namespace {

class LayerNormBench : public Bench {
 public:
  LayerNormBench(const LayerNormWork& l, Device device)
      : l_(l), stream_(compute_stream(device)), x_(device_rand({l.m, l.d}, device)),
        dy_(device_rand({l.m, l.d}, device)), y_(device_empty({l.m, l.d}, device)),
        dx_(device_empty({l.m, l.d}, device)), weight_(device_rand({l.d}, device)),
        bias_(device_rand({l.d}, device)), dweight_(device_empty({l.d}, device)),
        dbias_(device_empty({l.d}, device)), mean_(device_empty({l.m}, device)),
        rstd_(device_empty({l.m}, device)) {
    launchers(Direction::forward).ours();  // the statistics the backward reads
  }

  Launchers launchers(Direction d) override {
    const float *x = x_.data<float>(), *dy = dy_.data<float>(), *w = weight_.data<float>(),
                *b = bias_.data<float>();
    float *y = y_.data<float>(), *dx = dx_.data<float>(), *dw = dweight_.data<float>(),
          *db = dbias_.data<float>(), *mean = mean_.data<float>(), *rstd = rstd_.data<float>();
    const int64_t M = l_.m, D = l_.d;
    const kernels::Stream st = stream_;
    if (d == Direction::forward)
      return {[=] { kernels::cuda::layernorm_forward(x, w, b, y, mean, rstd, M, D, 1e-5, st); },
              {}, ""};
    return {[=] { kernels::cuda::layernorm_backward(dy, x, w, mean, rstd, dx, dw, db, M, D, st); },
            {}, ""};
  }

 private:
  LayerNormWork l_;
  kernels::Stream stream_;
  Tensor x_, dy_, y_, dx_, weight_, bias_, dweight_, dbias_, mean_, rstd_;
};

class ActivationBench : public Bench {
 public:
  ActivationBench(const ActivationWork& a, Device device)
      : a_(a), stream_(compute_stream(device)), x_(device_rand({a.n}, device)),
        dy_(device_rand({a.n}, device)), y_(device_empty({a.n}, device)),
        dx_(device_empty({a.n}, device)) {
    launchers(Direction::forward).ours();  // y, which some backwards read
  }

  Launchers launchers(Direction d) override {
    const kernels::Activation act = a_.act;
    const float alpha = act == kernels::Activation::leaky_relu ? 0.01f : 1.0f;  // PyTorch's defaults
    const float *x = x_.data<float>(), *dy = dy_.data<float>();
    float *y = y_.data<float>(), *dx = dx_.data<float>();
    const float* saved = kernels::backward_uses_output(act) ? y : x;
    const int64_t n = a_.n;
    const kernels::Stream st = stream_;
    if (d == Direction::forward)
      return {[=] { kernels::cuda::activation_forward(act, x, y, n, alpha, st); }, {}, ""};
    return {[=] { kernels::cuda::activation_backward(act, saved, dy, dx, n, alpha, st); }, {}, ""};
  }

 private:
  ActivationWork a_;
  kernels::Stream stream_;
  Tensor x_, dy_, y_, dx_;
};

class PoolBench : public Bench {
 public:
  PoolBench(const PoolWork& p, Device device)
      : p_(p), stream_(compute_stream(device)), x_(device_rand({p.s.planes, p.s.h, p.s.w}, device)),
        dy_(device_rand({p.s.planes, p.s.oh, p.s.ow}, device)),
        y_(device_empty({p.s.planes, p.s.oh, p.s.ow}, device)),
        dx_(device_empty({p.s.planes, p.s.h, p.s.w}, device)),
        indices_(device_empty({p.s.planes, p.s.oh, p.s.ow}, device, DType::i32)) {
    launchers(Direction::forward).ours();  // max pooling's indices
  }

  Launchers launchers(Direction d) override {
    const float *x = x_.data<float>(), *dy = dy_.data<float>();
    float *y = y_.data<float>(), *dx = dx_.data<float>();
    int32_t* idx = indices_.data<int32_t>();
    const kernels::Pool2dShape s = p_.s;
    const bool cip = p_.count_include_pad;
    const kernels::Stream st = stream_;
    namespace k = kernels::cuda;
    const bool fwd = d == Direction::forward;
    switch (p_.kind) {
      case PoolKind::max:
        if (fwd) return {[=] { k::max_pool2d_forward(x, y, idx, s, st); }, {}, ""};
        return {[=] { k::max_pool2d_backward(dy, idx, dx, s, st); }, {}, ""};
      case PoolKind::avg:
        if (fwd) return {[=] { k::avg_pool2d_forward(x, y, s, cip, st); }, {}, ""};
        return {[=] { k::avg_pool2d_backward(dy, dx, s, cip, st); }, {}, ""};
      case PoolKind::adaptive_avg: break;
    }
    if (fwd) return {[=] { k::adaptive_avg_pool2d_forward(x, y, s, st); }, {}, ""};
    return {[=] { k::adaptive_avg_pool2d_backward(dy, dx, s, st); }, {}, ""};
  }

 private:
  PoolWork p_;
  kernels::Stream stream_;
  Tensor x_, dy_, y_, dx_, indices_;
};

// Mean reduction, as danlu::cross_entropy trains: the backward reads one
// scalar dloss (stride 0) scaled by 1/N.
class XentBench : public Bench {
 public:
  XentBench(const XentWork& x, Device device)
      : x_(x), stream_(compute_stream(device)), logits_(device_rand({x.n, x.classes}, device)),
        dlogits_(device_empty({x.n, x.classes}, device)), loss_(device_empty({x.n}, device)),
        lse_(device_empty({x.n}, device)), dloss_(device_rand({1}, device)) {
    std::vector<int64_t> targets(x.n);
    for (int64_t i = 0; i < x.n; ++i) targets[i] = i % x.classes;
    targets_ = Tensor::from_vector(targets, {x.n}).to(device);
    launchers(Direction::forward).ours();  // lse, which the backward reads
  }

  Launchers launchers(Direction d) override {
    const float* logits = logits_.data<float>();
    const int64_t* t = targets_.data<int64_t>();
    float *loss = loss_.data<float>(), *lse = lse_.data<float>(),
          *dlogits = dlogits_.data<float>(), *dloss = dloss_.data<float>();
    const int64_t N = x_.n, C = x_.classes;
    const kernels::Stream st = stream_;
    if (d == Direction::forward)
      return {[=] { kernels::cuda::softmax_xent_forward(logits, t, loss, lse, N, C, 0.0, st); },
              {}, ""};
    return {[=] {
              kernels::cuda::softmax_xent_backward(logits, t, lse, dloss, 0, 1.0 / N, dlogits, N,
                                                   C, 0.0, st);
            },
            {}, ""};
  }

 private:
  XentWork x_;
  kernels::Stream stream_;
  Tensor logits_, dlogits_, loss_, lse_, dloss_, targets_;
};

// One fused SGD-with-momentum launch over every parameter tensor, as
// optim::SGD steps a param group.
class OptimBench : public Bench {
 public:
  OptimBench(const OptimWork& o, Device device) : stream_(compute_stream(device)) {
    for (int64_t n : o.sizes) {
      params_.push_back(device_rand({n}, device));
      grads_.push_back(device_rand({n}, device));
      buffers_.push_back(device_rand({n}, device));
      kernels::cuda::FusedTensor t;
      t.param = params_.back().data<float>();
      t.grad = grads_.back().data<float>();
      t.state[0] = buffers_.back().data<float>();
      t.n = n;
      t.step = 2;  // past the first step: the momentum buffer is read, not set
      tensors_.push_back(t);
    }
  }

  Launchers launchers(Direction) override {
    return {[this] {
              kernels::cuda::sgd_update(table_, tensors_, 1e-3, 0.9, 0.0, 0.0, false, stream_);
            },
            {}, ""};
  }

 private:
  kernels::Stream stream_;
  std::vector<Tensor> params_, grads_, buffers_;
  kernels::cuda::FusedTensors tensors_;
  kernels::cuda::FusedTable table_;
};

// nn.Linear's three GEMMs through cuBLAS, as engine/ops/linear.cpp calls
// them (row-major): y = x . W^T, dx = dy . W, dW = dy^T . x.
class GemmBench : public Bench {
 public:
  GemmBench(const GemmWork& g, Device device)
      : g_(g), stream_(compute_stream(device)), x_(device_rand({g.rows, g.in}, device)),
        w_(device_rand({g.out, g.in}, device)), dy_(device_rand({g.rows, g.out}, device)),
        y_(device_empty({g.rows, g.out}, device)), dx_(device_empty({g.rows, g.in}, device)),
        dw_(device_empty({g.out, g.in}, device)) {}

  Launchers launchers(Direction d) override {
    const float *x = x_.data<float>(), *w = w_.data<float>(), *dy = dy_.data<float>();
    float *y = y_.data<float>(), *dx = dx_.data<float>(), *dw = dw_.data<float>();
    const int64_t rows = g_.rows, in = g_.in, out = g_.out;
    const kernels::Stream st = stream_;
    namespace k = kernels::cuda;
    if (d == Direction::forward)
      return {[=] { k::gemm(false, true, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out, st); },
              {}, ""};
    if (d == Direction::backward_data)
      return {[=] { k::gemm(false, false, rows, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in, st); },
              {}, ""};
    return {[=] { k::gemm(true, false, out, in, rows, 1.0f, dy, out, x, in, 0.0f, dw, in, st); },
            {}, ""};
  }

 private:
  GemmWork g_;
  kernels::Stream stream_;
  Tensor x_, w_, dy_, y_, dx_, dw_;
};

}  // namespace

std::unique_ptr<Bench> make_bench(const Workload& w, Device device) {
  switch (op_of(w)) {
    case Op::conv: return make_conv_bench(std::get<ConvWork>(w), device);
    case Op::bn: return make_batchnorm_bench(std::get<BatchNormWork>(w), device);
    case Op::ln: return std::make_unique<LayerNormBench>(std::get<LayerNormWork>(w), device);
    case Op::act: return std::make_unique<ActivationBench>(std::get<ActivationWork>(w), device);
    case Op::pool: return std::make_unique<PoolBench>(std::get<PoolWork>(w), device);
    case Op::xent: return std::make_unique<XentBench>(std::get<XentWork>(w), device);
    case Op::optim: return std::make_unique<OptimBench>(std::get<OptimWork>(w), device);
    case Op::gemm: return std::make_unique<GemmBench>(std::get<GemmWork>(w), device);
  }
  return nullptr;
}

}  // namespace danlu::profiler

#endif  // DANLU_WITH_CUDA
