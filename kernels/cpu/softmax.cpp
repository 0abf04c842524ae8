// CPU reference for softmax: each (outer, inner) pair is one independent row
// of `dim` elements read with stride `inner`; rows are split across threads
// and sums accumulate in double.
#include "kernels/softmax.h"

#include <cmath>

namespace danlu::kernels::cpu {

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool log) {
  if (dim == 0) return;
#pragma omp parallel for collapse(2) if (outer * inner > 64)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* xr = x + o * dim * inner + i;
      T* yr = y + o * dim * inner + i;
      T max = xr[0];
      for (int64_t k = 1; k < dim; ++k) max = xr[k * inner] > max ? xr[k * inner] : max;
      double sum = 0.0;
      for (int64_t k = 0; k < dim; ++k) sum += std::exp(static_cast<double>(xr[k * inner] - max));
      if (log) {
        const double log_sum = std::log(sum);
        for (int64_t k = 0; k < dim; ++k)
          yr[k * inner] = static_cast<T>(static_cast<double>(xr[k * inner] - max) - log_sum);
      } else {
        for (int64_t k = 0; k < dim; ++k)
          yr[k * inner] =
              static_cast<T>(std::exp(static_cast<double>(xr[k * inner] - max)) / sum);
      }
    }
  }
}

template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t dim, int64_t inner,
                      bool log) {
#pragma omp parallel for collapse(2) if (outer * inner > 64)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * dim * inner + i;
      double sum = 0.0;
      for (int64_t k = 0; k < dim; ++k) {
        const int64_t j = base + k * inner;
        sum += log ? static_cast<double>(dy[j]) : static_cast<double>(dy[j]) * y[j];
      }
      for (int64_t k = 0; k < dim; ++k) {
        const int64_t j = base + k * inner;
        dx[j] = log ? static_cast<T>(dy[j] - std::exp(static_cast<double>(y[j])) * sum)
                    : static_cast<T>(y[j] * (dy[j] - sum));
      }
    }
  }
}

#define DANLU_INSTANTIATE(T)                                                              \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool);        \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
