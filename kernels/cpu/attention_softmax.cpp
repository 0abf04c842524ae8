// CPU reference for the scaled, masked softmax of attention scores: rows
// split across threads, sums accumulated in double.
#include "kernels/attention_softmax.h"

#include <cmath>
#include <limits>

namespace danlu::kernels::cpu {

template <class T>
void scaled_masked_softmax_forward(const T* x, const T* mask, T* y, int64_t rows, int64_t cols,
                                   int64_t mask_rows, T scale) {
#pragma omp parallel for if (rows * cols > (1 << 14))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    const T* mr = mask ? mask + (r % mask_rows) * cols : nullptr;
    T* yr = y + r * cols;
    auto z = [&](int64_t k) { return scale * xr[k] + (mr ? mr[k] : T(0)); };
    T max = -std::numeric_limits<T>::infinity();
    for (int64_t k = 0; k < cols; ++k) max = z(k) > max ? z(k) : max;
    if (max == -std::numeric_limits<T>::infinity()) {  // every key masked
      for (int64_t k = 0; k < cols; ++k) yr[k] = T(0);
      continue;
    }
    double sum = 0.0;
    for (int64_t k = 0; k < cols; ++k) sum += std::exp(static_cast<double>(z(k) - max));
    for (int64_t k = 0; k < cols; ++k)
      yr[k] = static_cast<T>(std::exp(static_cast<double>(z(k) - max)) / sum);
  }
}

template <class T>
void scaled_masked_softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols,
                                    T scale) {
#pragma omp parallel for if (rows * cols > (1 << 14))
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * cols;
    double dot = 0.0;
    for (int64_t k = 0; k < cols; ++k)
      dot += static_cast<double>(dy[base + k]) * static_cast<double>(y[base + k]);
    for (int64_t k = 0; k < cols; ++k) {
      const int64_t j = base + k;
      dx[j] = static_cast<T>(scale * y[j] * (dy[j] - dot));
    }
  }
}

template <class T>
void boolean_to_additive_mask(const int64_t* drop, T* additive, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    additive[i] = drop[i] != 0 ? -std::numeric_limits<T>::infinity() : T(0);
}

#define DANLU_INSTANTIATE(T)                                                                  \
  template void scaled_masked_softmax_forward<T>(const T*, const T*, T*, int64_t, int64_t,    \
                                                 int64_t, T);                                 \
  template void scaled_masked_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, T); \
  template void boolean_to_additive_mask<T>(const int64_t*, T*, int64_t);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
