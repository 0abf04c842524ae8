// CPU reference for the fused softmax cross-entropy: one row (sample) per
// loop iteration, rows split across threads, sums accumulated in double.
#include "kernels/softmax_xent.h"

#include <cmath>

namespace danlu::kernels::cpu {

template <class T>
void softmax_xent_forward(const T* logits, const int64_t* target, T* loss, T* lse, int64_t N,
                          int64_t C, double label_smoothing) {
#pragma omp parallel for if (N > 64)
  for (int64_t n = 0; n < N; ++n) {
    const T* row = logits + n * C;
    double max = row[0];
    for (int64_t c = 1; c < C; ++c) max = row[c] > max ? static_cast<double>(row[c]) : max;
    double sum_exp = 0.0, sum_logits = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      sum_exp += std::exp(row[c] - max);
      sum_logits += row[c];
    }
    const double row_lse = max + std::log(sum_exp);
    const double nll = row_lse - row[target[n]];
    const double smooth = row_lse - sum_logits / static_cast<double>(C);  // mean_c(-log p_c)
    loss[n] = static_cast<T>((1.0 - label_smoothing) * nll + label_smoothing * smooth);
    lse[n] = static_cast<T>(row_lse);
  }
}

template <class T>
void softmax_xent_backward(const T* logits, const int64_t* target, const T* lse,
                           const T* dloss, int64_t dloss_stride, double dloss_scale, T* dlogits,
                           int64_t N, int64_t C, double label_smoothing) {
  const double off_target = label_smoothing / static_cast<double>(C);
#pragma omp parallel for if (N > 64)
  for (int64_t n = 0; n < N; ++n) {
    const double g = static_cast<double>(dloss[n * dloss_stride]) * dloss_scale;
    const T* row = logits + n * C;
    T* drow = dlogits + n * C;
    for (int64_t c = 0; c < C; ++c) {
      const double p = std::exp(static_cast<double>(row[c]) - lse[n]);
      const double smoothed = (c == target[n] ? 1.0 - label_smoothing : 0.0) + off_target;
      drow[c] = static_cast<T>(g * (p - smoothed));
    }
  }
}

#define DANLU_INSTANTIATE(T)                                                                 \
  template void softmax_xent_forward<T>(const T*, const int64_t*, T*, T*, int64_t, int64_t,  \
                                        double);                                             \
  template void softmax_xent_backward<T>(const T*, const int64_t*, const T*, const T*,       \
                                         int64_t, double, T*, int64_t, int64_t, double);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
