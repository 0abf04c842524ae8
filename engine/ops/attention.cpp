// Attention on BLAS and one fused softmax kernel. Scores q . k^T go through
// bmm (cuBLAS strided-batched or the CPU GEMM per batch) with k transposed
// by a permute copy, the scale and mask ride inside the softmax kernel, and
// its backward needs only the saved weights: dz = scale * y * (dy - <dy, y>).
#include "engine/ops/attention.h"

#include <cmath>

#include "engine/ops/dispatch.h"
#include "engine/ops/dropout.h"
#include "engine/ops/linear.h"
#include "engine/ops/shape.h"
#include "engine/profile.h"
#include "kernels/attention_softmax.h"

namespace danlu {

using namespace ops_detail;

namespace {

// How many rows of (cols) the mask holds, after checking that its shape is a
// suffix of the scores' shape.
int64_t mask_rows_of(const Tensor& mask, const Tensor& scores) {
  const char* op = "scaled_masked_softmax";
  bool suffix = mask.dim() >= 2 && mask.dim() <= scores.dim();
  for (int i = 1; suffix && i <= mask.dim(); ++i)
    suffix = mask.shape()[mask.dim() - i] == scores.shape()[scores.dim() - i];
  DANLU_CHECK(suffix, op, ": mask ", mask.shape(), " does not fit scores ", scores.shape(),
              "; give a mask (L, S) shared by every batch and head, or the trailing dimensions "
              "of the scores' shape");
  return mask.numel() / mask.shape()[mask.dim() - 1];
}

}  // namespace

Tensor additive_attention_mask(const Tensor& mask, const Tensor& like) {
  const TensorOptions opts = TensorOptions(like.dtype()).device(like.device());
  if (is_floating(mask.dtype())) return mask.detach().to(like.dtype()).to(like.device());
  DANLU_CHECK(mask.dtype() == DType::i64, "attention mask: expected a floating or an i64 ",
              "(boolean) mask, got ", dtype_name(mask.dtype()),
              "; convert it with .to(DType::i64)");
  const Tensor drop = mask.detach().to(like.device());
  Tensor additive = Tensor::empty(mask.shape(), opts);
  if (additive.device().is_cuda()) {
    DANLU_CUDA_ONLY(kernels::cuda::boolean_to_additive_mask(
        drop.data<int64_t>(), additive.data<float>(), drop.numel(), stream_of(additive)));
  } else {
    dispatch_floating(additive.dtype(), "attention mask", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::boolean_to_additive_mask<T>(drop.data<int64_t>(), additive.data<T>(),
                                                drop.numel());
    });
  }
  return additive;
}

Tensor scaled_masked_softmax(const Tensor& scores, double scale, const Tensor& mask) {
  const char* op = "scaled_masked_softmax";
  DANLU_OP_RANGE(op);
  check_defined(op, scores, "scores");
  DANLU_CHECK(scores.dim() >= 2, op, ": expected scores (..., L, S), got ", scores.shape());
  if (scores.device().is_cuda()) check_cuda_f32(op, scores);
  const int64_t cols = scores.shape()[scores.dim() - 1];
  const int64_t rows = cols > 0 ? scores.numel() / cols : 0;
  Tensor add = mask.defined() ? additive_attention_mask(mask, scores) : Tensor();
  const int64_t mask_rows = mask.defined() ? mask_rows_of(mask, scores) : 1;
  Tensor y = empty_like(scores);
  if (scores.device().is_cuda()) {
    DANLU_CUDA_ONLY(kernels::cuda::scaled_masked_softmax_forward(
        scores.data<float>(), add.defined() ? add.data<float>() : nullptr, y.data<float>(), rows,
        cols, mask_rows, static_cast<float>(scale), stream_of(scores)));
  } else {
    dispatch_floating(scores.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::scaled_masked_softmax_forward<T>(
          scores.data<T>(), add.defined() ? add.data<T>() : nullptr, y.data<T>(), rows, cols,
          mask_rows, static_cast<T>(scale));
    });
  }
  Tensor saved = y.detach();
  return record(y, op, {scores}, [=](const Tensor& g) {
    Tensor dx = empty_like(g);
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(kernels::cuda::scaled_masked_softmax_backward(
          saved.data<float>(), g.data<float>(), dx.data<float>(), rows, cols,
          static_cast<float>(scale), stream_of(g)));
    } else {
      dispatch_floating(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        kernels::cpu::scaled_masked_softmax_backward<T>(saved.data<T>(), g.data<T>(),
                                                        dx.data<T>(), rows, cols,
                                                        static_cast<T>(scale));
      });
    }
    return std::vector<Tensor>{dx};
  });
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& mask, double dropout_p, bool training,
                                    Generator* gen, Tensor* weights) {
  const char* op = "scaled_dot_product_attention";
  DANLU_OP_RANGE(op);
  check_defined(op, q, "q");
  check_defined(op, k, "k");
  check_defined(op, v, "v");
  check_dim(op, q, 3, "q (N, L, E)");
  check_dim(op, k, 3, "k (N, S, E)");
  check_dim(op, v, 3, "v (N, S, Ev)");
  DANLU_CHECK(k.shape()[0] == q.shape()[0] && k.shape()[2] == q.shape()[2] &&
                  v.shape()[0] == q.shape()[0] && v.shape()[1] == k.shape()[1],
              op, ": q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
              " do not fit (N, L, E), (N, S, E), (N, S, Ev)");
  DANLU_CHECK(q.shape()[2] > 0, op, ": q ", q.shape(), " has no features (E = 0)");
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.shape()[2]));
  const Tensor applied =
      dropout(scaled_masked_softmax(bmm(q, transpose(k, 1, 2)), scale, mask), dropout_p, training,
              gen);
  if (weights) *weights = applied;
  return bmm(applied, v);
}

}  // namespace danlu
