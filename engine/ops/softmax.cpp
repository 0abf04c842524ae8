// Softmax and log-softmax along one dimension. The backward needs only the
// forward output, so that is all the node keeps.
#include "engine/ops/softmax.h"

#include "engine/ops/dispatch.h"
#include "kernels/softmax.h"

namespace danlu {

using namespace ops_detail;

namespace {

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log, const char* name) {
  check_defined(name, x, "input");
  const int d = normalize_dim(dim, x.dim(), name);
  const int64_t outer = x.shape().numel(0, d), size = x.shape()[d];
  const int64_t inner = x.shape().numel(d + 1, x.dim());
  Tensor y = empty_like(x);
  if (x.device().is_cuda()) {
    check_cuda_f32(name, x);
    DANLU_CUDA_ONLY(kernels::cuda::softmax_forward(x.data<float>(), y.data<float>(), outer, size,
                                                   inner, log, stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::softmax_forward<T>(x.data<T>(), y.data<T>(), outer, size, inner, log);
    });
  }
  Tensor saved = y.detach();
  return record(y, name, {x}, [=](const Tensor& g) {
    Tensor dx = empty_like(g);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::softmax_backward(saved.data<float>(), g.data<float>(),
                                                      dx.data<float>(), outer, size, inner, log,
                                                      stream_of(g)));
    } else {
      dispatch_floating(g.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::softmax_backward<T>(saved.data<T>(), g.data<T>(), dx.data<T>(), outer,
                                          size, inner, log);
      });
    }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false, "softmax"); }

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl(x, dim, true, "log_softmax");
}

}  // namespace danlu
