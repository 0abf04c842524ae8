// Pointwise activations: one forward kernel call, and a backward that keeps
// only what the derivative needs (y for relu/sigmoid/tanh, x otherwise).
#include "engine/ops/activation.h"

#include "engine/ops/dispatch.h"
#include "engine/profile.h"
#include "kernels/activation.h"

namespace danlu {

using namespace ops_detail;
using kernels::Activation;

namespace {

Tensor activation(const Tensor& x, Activation act, double alpha, const char* name) {
  DANLU_OP_RANGE(name);
  check_defined(name, x, "input");
  Tensor y = empty_like(x);
  if (x.device().is_cuda()) {
    check_cuda_f32(name, x);
    DANLU_CUDA_ONLY(kernels::cuda::activation_forward(act, x.data<float>(), y.data<float>(),
                                                      x.numel(), static_cast<float>(alpha),
                                                      stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::activation_forward<T>(act, x.data<T>(), y.data<T>(), x.numel(),
                                          static_cast<T>(alpha));
    });
  }
  Tensor saved = kernels::backward_uses_output(act) ? y.detach() : x.detach();
  return record(y, name, {x}, [saved, act, alpha, name](const Tensor& g) {
    Tensor dx = empty_like(g);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::activation_backward(
          act, saved.data<float>(), g.data<float>(), dx.data<float>(), g.numel(),
          static_cast<float>(alpha), stream_of(g)));
    } else {
      dispatch_floating(g.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::activation_backward<T>(act, saved.data<T>(), g.data<T>(), dx.data<T>(),
                                             g.numel(), static_cast<T>(alpha));
      });
    }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Tensor relu(const Tensor& x) { return activation(x, Activation::relu, 0.0, "relu"); }

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return activation(x, Activation::leaky_relu, negative_slope, "leaky_relu");
}

Tensor elu(const Tensor& x, double alpha) {
  return activation(x, Activation::elu, alpha, "elu");
}

Tensor gelu(const Tensor& x, GeluApproximate approximate) {
  return approximate == GeluApproximate::tanh
             ? activation(x, Activation::gelu_tanh, 0.0, "gelu")
             : activation(x, Activation::gelu, 0.0, "gelu");
}

Tensor silu(const Tensor& x) { return activation(x, Activation::silu, 0.0, "silu"); }
Tensor sigmoid(const Tensor& x) { return activation(x, Activation::sigmoid, 0.0, "sigmoid"); }
Tensor tanh(const Tensor& x) { return activation(x, Activation::tanh, 0.0, "tanh"); }

}  // namespace danlu
