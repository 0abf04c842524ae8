// CPU reference for layer norm: rows split across threads for the forward
// and for dx; the parameter gradients sum down columns, so that loop is
// split across columns instead and needs no atomics.
#include "kernels/layernorm.h"

#include <cmath>

namespace danlu::kernels::cpu {

template <class T>
void layernorm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd,
                       int64_t M, int64_t D, double eps) {
#pragma omp parallel for if (M * D > (1 << 14))
  for (int64_t m = 0; m < M; ++m) {
    const T* xr = x + m * D;
    T* yr = y + m * D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; ++d) sum += xr[d];
    const double mu = sum / static_cast<double>(D);
    double sq = 0.0;
    for (int64_t d = 0; d < D; ++d) sq += (xr[d] - mu) * (xr[d] - mu);
    const double rs = 1.0 / std::sqrt(sq / static_cast<double>(D) + eps);
    mean[m] = static_cast<T>(mu);
    rstd[m] = static_cast<T>(rs);
    for (int64_t d = 0; d < D; ++d) {
      const double xhat = (xr[d] - mu) * rs;
      yr[d] = static_cast<T>(xhat * (weight ? weight[d] : 1.0) + (bias ? bias[d] : 0.0));
    }
  }
}

template <class T>
void layernorm_backward(const T* dy, const T* x, const T* weight, const T* mean, const T* rstd,
                        T* dx, T* dweight, T* dbias, int64_t M, int64_t D) {
  if (dx) {
#pragma omp parallel for if (M * D > (1 << 14))
    for (int64_t m = 0; m < M; ++m) {
      const T* xr = x + m * D;
      const T* dyr = dy + m * D;
      const double mu = mean[m], rs = rstd[m];
      double sum_g = 0.0, sum_g_xhat = 0.0;
      for (int64_t d = 0; d < D; ++d) {
        const double g = dyr[d] * (weight ? weight[d] : 1.0);
        sum_g += g;
        sum_g_xhat += g * (xr[d] - mu) * rs;
      }
      const double mean_g = sum_g / static_cast<double>(D);
      const double mean_g_xhat = sum_g_xhat / static_cast<double>(D);
      for (int64_t d = 0; d < D; ++d) {
        const double g = dyr[d] * (weight ? weight[d] : 1.0);
        const double xhat = (xr[d] - mu) * rs;
        dx[m * D + d] = static_cast<T>(rs * (g - mean_g - xhat * mean_g_xhat));
      }
    }
  }
  if (!dweight && !dbias) return;
#pragma omp parallel for if (M * D > (1 << 14))
  for (int64_t d = 0; d < D; ++d) {
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t m = 0; m < M; ++m) {
      const double g = dy[m * D + d];
      sum_dy += g;
      sum_dy_xhat += g * (static_cast<double>(x[m * D + d]) - mean[m]) * rstd[m];
    }
    if (dweight) dweight[d] = static_cast<T>(sum_dy_xhat);
    if (dbias) dbias[d] = static_cast<T>(sum_dy);
  }
}

#define DANLU_INSTANTIATE(T)                                                                \
  template void layernorm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t,     \
                                     int64_t, double);                                      \
  template void layernorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, \
                                      T*, T*, int64_t, int64_t);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
