// CPU reference for reductions: OpenMP over the outer axis.
#include "kernels/reduce.h"

#include <vector>

namespace danlu::kernels::cpu {

template <class T>
void sum_middle(const T* x, T* y, int64_t outer, int64_t reduce, int64_t inner) {
#pragma omp parallel for if (outer * reduce * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    std::vector<double> acc(inner, 0.0);
    const T* base = x + o * reduce * inner;
    for (int64_t r = 0; r < reduce; ++r)
      for (int64_t i = 0; i < inner; ++i) acc[i] += base[r * inner + i];
    for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = static_cast<T>(acc[i]);
  }
}

template <class T>
void argmax_middle(const T* x, int64_t* y, int64_t outer, int64_t reduce, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* base = x + o * reduce * inner + i;
      int64_t best = 0;
      for (int64_t r = 1; r < reduce; ++r)
        if (base[r * inner] > base[best * inner]) best = r;
      y[o * inner + i] = best;
    }
}

template void argmax_middle<float>(const float*, int64_t*, int64_t, int64_t, int64_t);
template void argmax_middle<double>(const double*, int64_t*, int64_t, int64_t, int64_t);
template void sum_middle<float>(const float*, float*, int64_t, int64_t, int64_t);
template void sum_middle<double>(const double*, double*, int64_t, int64_t, int64_t);

}  // namespace danlu::kernels::cpu
