// Inverted dropout. The node keeps only (seed, offset, p): the backward
// regenerates the forward's mask from the same Philox stream.
#include "engine/ops/dropout.h"

#include "engine/cuda_graph.h"
#include "engine/ops/dispatch.h"
#include "engine/profile.h"
#include "engine/random.h"
#include "kernels/dropout.h"

namespace danlu {

using namespace ops_detail;

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  DANLU_OP_RANGE("dropout");
  const char* name = "dropout";
  check_defined(name, x, "input");
  DANLU_CHECK(p >= 0.0 && p <= 1.0, name, ": probability p must be in [0, 1], got ", p,
              " (input ", x.shape(), ")");
  if (!training || p == 0.0) return x;

  Generator& g = gen ? *gen : default_generator();
  const uint64_t seed = g.seed();
  // Inside a CUDA Graph capture the offset is relative to a device scalar
  // that each launch of the graph sets (engine/cuda_graph.h).
  const PhiloxOffset where = reserve_philox(g, static_cast<uint64_t>(x.numel()), x.device());
  const uint64_t offset = where.offset;
  const float threshold = static_cast<float>(p);
  const double scale = p == 1.0 ? 0.0 : 1.0 / (1.0 - p);
  const int64_t n = x.numel();
  Tensor y = empty_like(x);
  if (x.device().is_cuda()) {
    check_cuda_f32(name, x);
    DANLU_CUDA_ONLY(kernels::cuda::dropout_forward(x.data<float>(), y.data<float>(), n, threshold,
                                                   static_cast<float>(scale), seed, where.base,
                                                   offset, stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::dropout_forward<T>(x.data<T>(), y.data<T>(), n, threshold,
                                       static_cast<T>(scale), seed, offset);
    });
  }
  return record(y, name, {x}, [=](const Tensor& grad) {
    Tensor dx = empty_like(grad);
    if (grad.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::dropout_backward(grad.data<float>(), dx.data<float>(), n,
                                                      threshold, static_cast<float>(scale), seed,
                                                      where.base, offset, stream_of(grad)));
    } else {
      dispatch_floating(grad.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::dropout_backward<T>(grad.data<T>(), dx.data<T>(), n, threshold,
                                          static_cast<T>(scale), seed, offset);
      });
    }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace danlu
