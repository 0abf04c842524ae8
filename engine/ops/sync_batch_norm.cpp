// SyncBatchNorm's op: batch norm in training mode whose statistics are
// those of the global batch of a data-parallel job. The ranks' sums are
// combined by a reduction the caller passes in (train/distributed.h), so
// the op knows nothing of the transport. It is written once, for any
// device, as PyTorch's SyncBatchNorm is: the per-element work is tensor ops
// on x's device (channel sums over an (N, C, S) view, broadcast affine maps);
// the per-channel work (C values: means, variances, scales) is host doubles,
// which is also where the reduction takes them. On a GPU each statistic read
// waits for the GPU: twice in the forward and once in the backward.
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/reduce.h"
#include "engine/profile.h"

namespace danlu {

using namespace ops_detail;

namespace {

// Per-channel sums of an (N, C, S) tensor, as host doubles.
std::vector<double> channel_sums(const Tensor& t) { return sum(t, {0, 2}).to_vector(); }

// Per-channel host values as a (1, C, 1) tensor like `like`, to broadcast.
Tensor per_channel(const std::vector<double>& values, const Tensor& like) {
  return Tensor::from_vector(values, {1, static_cast<int64_t>(values.size()), 1},
                             TensorOptions(like.dtype()).device(like.device()));
}

std::vector<double> host_or(const Tensor& t, int64_t c, double fallback) {
  return t.defined() ? t.to_vector() : std::vector<double>(c, fallback);
}

}  // namespace

Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, double momentum, double eps,
                       const AllReduceSum& all_reduce) {
  DANLU_OP_RANGE("sync_batch_norm");
  check_defined("sync_batch_norm", x, "input");
  DANLU_CHECK(x.dim() >= 2, "sync_batch_norm: expected input (N, C) or (N, C, ...), got shape ",
              x.shape());
  DANLU_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
              "sync_batch_norm: expected f32 or f64 input, got ", dtype_name(x.dtype()));
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    DANLU_CHECK(!t->defined() || (t->shape() == Shape{x.shape()[1]} && t->dtype() == x.dtype() &&
                                  t->device() == x.device()),
                "sync_batch_norm: a parameter or running statistic is not (", x.shape()[1], ") ",
                dtype_name(x.dtype()), " on ", x.device().str(), " for input ", x.str());
  const int64_t N = x.shape()[0], C = x.shape()[1], S = x.shape().numel(2, x.dim());
  std::vector<double> mean(C), invstd(C), scale(C), shift(C);
  const std::vector<double> w = host_or(weight, C, 1.0);
  double count = 0;
  Tensor y, x3;
  {
    NoGradGuard no_grad;
    x3 = x.detach().reshape({N, C, S});
    // The global mean, then the global biased variance, with the number of
    // values per channel summed over the ranks alongside the first sums.
    std::vector<double> sums = channel_sums(x3);
    sums.push_back(static_cast<double>(N * S));
    all_reduce(sums.data(), C + 1);
    count = sums[C];
    for (int64_t c = 0; c < C; ++c) mean[c] = sums[c] / count;
    const Tensor centered = sub(x3, per_channel(mean, x3));
    std::vector<double> var = channel_sums(mul(centered, centered));
    all_reduce(var.data(), C);
    const std::vector<double> b = host_or(bias, C, 0.0);
    for (int64_t c = 0; c < C; ++c) {
      var[c] /= count;
      invstd[c] = 1.0 / std::sqrt(var[c] + eps);
      scale[c] = invstd[c] * w[c], shift[c] = b[c] - mean[c] * scale[c];
    }
    y = add(mul(x3, per_channel(scale, x3)), per_channel(shift, x3)).reshape(x.shape().vec());
    if (running_mean.defined()) {
      std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector();
      for (int64_t c = 0; c < C; ++c) {
        rm[c] = (1.0 - momentum) * rm[c] + momentum * mean[c];
        rv[c] = (1.0 - momentum) * rv[c] + momentum * var[c] * count / (count - 1);
      }
      Tensor(running_mean).copy_(Tensor::from_vector(rm, {C}, x.dtype()));
      Tensor(running_var).copy_(Tensor::from_vector(rv, {C}, x.dtype()));
    }
  }

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();
  return record(y, "sync_batch_norm", {x, weight, bias}, [=](const Tensor& g) {
    // Local sums of dy and dy * xhat are weight's and bias's gradients on
    // this rank (averaged with the others' later, as every gradient is);
    // their global sums make dx, since every value in the global batch moved
    // the statistics: dx = w * invstd * (dy - (sum dy + xhat * sum dy xhat) / count).
    const Tensor dy = g.reshape({N, C, S});
    const Tensor xhat = mul(sub(x3, per_channel(mean, x3)), per_channel(invstd, x3));
    const Tensor sum_dy = sum(dy, {0, 2}), sum_dy_xhat = sum(mul(dy, xhat), {0, 2});
    std::vector<double> sums = sum_dy.to_vector();
    const std::vector<double> second = sum_dy_xhat.to_vector();
    sums.insert(sums.end(), second.begin(), second.end());
    all_reduce(sums.data(), 2 * C);  // every rank takes part, whichever gradients it needs
    Tensor dx;
    if (need_dx) {
      std::vector<double> k(C), mean_dy(C), mean_dy_xhat(C);
      for (int64_t c = 0; c < C; ++c)
        k[c] = w[c] * invstd[c], mean_dy[c] = sums[c] / count, mean_dy_xhat[c] = sums[C + c] / count;
      dx = mul(sub(sub(dy, per_channel(mean_dy, dy)), mul(xhat, per_channel(mean_dy_xhat, dy))),
               per_channel(k, dy))
               .reshape(g.shape().vec());
    }
    return std::vector<Tensor>{dx, need_dw ? sum_dy_xhat : Tensor(), need_db ? sum_dy : Tensor()};
  });
}

}  // namespace danlu
