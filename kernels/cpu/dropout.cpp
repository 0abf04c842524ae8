// CPU dropout: each element draws its own Philox word from its index, so the
// loop parallelises with no shared generator state.
#include "kernels/dropout.h"

#include <algorithm>

#include "kernels/philox.h"

namespace danlu::kernels::cpu {

namespace {
constexpr int64_t kParallelGrain = 1 << 15;

// The forward and the backward are the same masked scaling. One Philox
// block gives the words of four consecutive elements (philox_word(i) is
// word i % 4 of block i / 4), so each block is computed once.
template <class T>
void masked_scale(const T* in, T* out, int64_t n, float p, T scale, uint64_t seed,
                  uint64_t offset) {
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t b = 0; b < blocks; ++b) {
    const Philox4 words = philox4x32(offset + static_cast<uint64_t>(b), 0, seed);
    const int64_t first = 4 * b, count = std::min<int64_t>(4, n - first);
    for (int64_t j = 0; j < count; ++j) {
      const bool keep = uniform_from_bits(words.v[j]) >= p;
      out[first + j] = keep ? in[first + j] * scale : T(0);
    }
  }
}
}  // namespace

template <class T>
void dropout_forward(const T* x, T* y, int64_t n, float p, T scale, uint64_t seed,
                     uint64_t offset) {
  masked_scale(x, y, n, p, scale, seed, offset);
}

template <class T>
void dropout_backward(const T* dy, T* dx, int64_t n, float p, T scale, uint64_t seed,
                      uint64_t offset) {
  masked_scale(dy, dx, n, p, scale, seed, offset);
}

#define DANLU_INSTANTIATE(T)                                                                \
  template void dropout_forward<T>(const T*, T*, int64_t, float, T, uint64_t, uint64_t);    \
  template void dropout_backward<T>(const T*, T*, int64_t, float, T, uint64_t, uint64_t);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
