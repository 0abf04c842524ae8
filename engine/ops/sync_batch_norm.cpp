// SyncBatchNorm's op: batch norm in training mode whose statistics are
// those of the global batch of a data-parallel job. The ranks' sums are
// combined by a reduction the caller passes in (train/distributed.h), so
// the op knows nothing of the transport. Statistics and their gradients
// accumulate in double, as the single-process kernels do.
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/norm.h"
#include "engine/profile.h"

namespace danlu {

using namespace ops_detail;

namespace {

// Channels view (N, C, S) of the input.
struct Dims {
  int64_t N, C, S;
};

// Per channel: sum over (n, s) of f(x[n, c, s], c), into out[c].
template <class T, class F>
void channel_sums(const T* x, const Dims& d, std::vector<double>& out, F&& f) {
  for (int64_t c = 0; c < d.C; ++c) {
    double sum = 0.0;
    for (int64_t n = 0; n < d.N; ++n) {
      const T* row = x + (n * d.C + c) * d.S;
      for (int64_t s = 0; s < d.S; ++s) sum += f(static_cast<double>(row[s]), c);
    }
    out[c] = sum;
  }
}

// The global mean and biased variance of each channel, and the number of
// values per channel over the ranks: two passes (sum, then squared
// deviations), each summed over the ranks.
template <class T>
void global_statistics(const T* x, const Dims& d, const AllReduceSum& all_reduce,
                       std::vector<double>& mean, std::vector<double>& var, double& count) {
  std::vector<double> sums(d.C + 1);
  channel_sums(x, d, sums, [](double v, int64_t) { return v; });
  sums[d.C] = static_cast<double>(d.N * d.S);
  all_reduce(sums.data(), d.C + 1);
  count = sums[d.C];
  for (int64_t c = 0; c < d.C; ++c) mean[c] = sums[c] / count;
  channel_sums(x, d, var, [&](double v, int64_t c) { return (v - mean[c]) * (v - mean[c]); });
  all_reduce(var.data(), d.C);
  for (int64_t c = 0; c < d.C; ++c) var[c] /= count;
}

template <class T>
Tensor forward(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
               const Tensor& weight, const Tensor& bias, double momentum, double eps,
               const AllReduceSum& all_reduce) {
  const Dims d{x.shape()[0], x.shape()[1], x.shape().numel(2, x.dim())};
  const T* xp = x.data<T>();
  std::vector<double> mean(d.C), var(d.C), invstd(d.C);
  double count = 0;
  global_statistics(xp, d, all_reduce, mean, var, count);
  Tensor y = empty_like(x);
  T* yp = y.data<T>();
  for (int64_t c = 0; c < d.C; ++c) {
    invstd[c] = 1.0 / std::sqrt(var[c] + eps);
    const double w = weight.defined() ? weight.data<T>()[c] : 1.0;
    const double b = bias.defined() ? bias.data<T>()[c] : 0.0;
    const double scale = invstd[c] * w, shift = b - mean[c] * scale;
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t s = 0; s < d.S; ++s) {
        const int64_t i = (n * d.C + c) * d.S + s;
        yp[i] = static_cast<T>(xp[i] * scale + shift);
      }
    if (running_mean.defined()) {
      T& rm = running_mean.data<T>()[c];
      T& rv = running_var.data<T>()[c];
      rm = static_cast<T>((1.0 - momentum) * rm + momentum * mean[c]);
      rv = static_cast<T>((1.0 - momentum) * rv + momentum * var[c] * count / (count - 1));
    }
  }

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const bool need_db = bias.requires_grad();
  const Tensor saved_x = x.detach(), saved_w = weight.defined() ? weight.detach() : Tensor();
  return record(y, "sync_batch_norm", {x, weight, bias}, [=](const Tensor& g) {
    // Local sums of dy and dy * xhat are weight's and bias's gradients on
    // this rank (averaged with the others' later, as every gradient is);
    // their global sums make dx, since every value in the global batch moved
    // the statistics: dx = w * invstd * (dy - (sum dy + xhat * sum dy xhat) / count).
    const T* dy = g.data<T>();
    const T* xv = saved_x.data<T>();
    const auto xhat = [&](double v, int64_t c) { return (v - mean[c]) * invstd[c]; };
    std::vector<double> sums(2 * d.C);
    for (int64_t c = 0; c < d.C; ++c) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t n = 0; n < d.N; ++n)
        for (int64_t s = 0; s < d.S; ++s) {
          const int64_t i = (n * d.C + c) * d.S + s;
          sum_dy += dy[i], sum_dy_xhat += dy[i] * xhat(xv[i], c);
        }
      sums[c] = sum_dy, sums[d.C + c] = sum_dy_xhat;
    }
    Tensor dx, dw, db;
    if (need_dw) dw = Tensor::from_vector(std::vector<double>(sums.begin() + d.C, sums.end()), {d.C},
                                          TensorOptions(g.dtype()));
    if (need_db) db = Tensor::from_vector(std::vector<double>(sums.begin(), sums.begin() + d.C),
                                          {d.C}, TensorOptions(g.dtype()));
    all_reduce(sums.data(), 2 * d.C);  // every rank takes part, whichever gradients it needs
    if (need_dx) {
      dx = empty_like(g);
      T* dxp = dx.data<T>();
      for (int64_t c = 0; c < d.C; ++c) {
        const double w = saved_w.defined() ? saved_w.data<T>()[c] : 1.0;
        const double k = w * invstd[c], mean_dy = sums[c] / count;
        const double mean_dy_xhat = sums[d.C + c] / count;
        for (int64_t n = 0; n < d.N; ++n)
          for (int64_t s = 0; s < d.S; ++s) {
            const int64_t i = (n * d.C + c) * d.S + s;
            dxp[i] = static_cast<T>(k * (dy[i] - mean_dy - xhat(xv[i], c) * mean_dy_xhat));
          }
      }
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace

Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, double momentum, double eps,
                       const AllReduceSum& all_reduce) {
  DANLU_OP_RANGE("sync_batch_norm");
  check_defined("sync_batch_norm", x, "input");
  DANLU_CHECK(x.dim() >= 2, "sync_batch_norm: expected input (N, C) or (N, C, ...), got shape ",
              x.shape());
  DANLU_CHECK(x.device().is_cpu(), "sync_batch_norm: model.sync_bn runs on the CPU only (MPI "
              "ranks), got input on ", x.device().str(), "; set model.sync_bn to false");
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    DANLU_CHECK(!t->defined() || (t->shape() == Shape{x.shape()[1]} && t->dtype() == x.dtype()),
                "sync_batch_norm: a parameter or running statistic is not (", x.shape()[1],
                ") ", dtype_name(x.dtype()), " for input ", x.shape());
  return dispatch_floating(x.dtype(), "sync_batch_norm", [&](auto tag) {
    using T = decltype(tag);
    return forward<T>(x, running_mean, running_var, weight, bias, momentum, eps, all_reduce);
  });
}

}  // namespace danlu
