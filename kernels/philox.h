// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): a counter-based generator. Element i of a stream is a pure function
// of (key, counter), so the CPU and CUDA kernels produce identical numbers and
// any thread can compute its own values without shared state.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define DANLU_HOST_DEVICE __host__ __device__
#else
#define DANLU_HOST_DEVICE
#endif

namespace danlu::kernels {

struct Philox4 {
  uint32_t v[4];
};

DANLU_HOST_DEVICE inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Four 32-bit random words for the 128-bit counter (c0..c3) under the key.
DANLU_HOST_DEVICE inline Philox4 philox4x32(uint64_t counter_lo, uint64_t counter_hi,
                                            uint64_t key) {
  uint32_t c[4] = {static_cast<uint32_t>(counter_lo), static_cast<uint32_t>(counter_lo >> 32),
                   static_cast<uint32_t>(counter_hi), static_cast<uint32_t>(counter_hi >> 32)};
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c[0], &hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c[2], &hi1);
    uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c[0], c[1], c[2], c[3]}};
}

// Uniform in [0, 1) with 24 random bits (exactly representable in f32).
DANLU_HOST_DEVICE inline float uniform_from_bits(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Random word `index` of the stream that starts at block `offset` of `seed`.
DANLU_HOST_DEVICE inline uint32_t philox_word(uint64_t seed, uint64_t offset, uint64_t index) {
  return philox4x32(offset + index / 4, 0, seed).v[index % 4];
}

// Uniform [0, 1) value `index` of the stream.
DANLU_HOST_DEVICE inline float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  return uniform_from_bits(philox_word(seed, offset, index));
}

// Standard normal value `index` of the stream by Box-Muller on words 2i, 2i+1.
DANLU_HOST_DEVICE inline double philox_normal(uint64_t seed, uint64_t offset, uint64_t index) {
  double u1 = 1.0 - uniform_from_bits(philox_word(seed, offset, 2 * index));  // (0, 1]
  double u2 = uniform_from_bits(philox_word(seed, offset, 2 * index + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace danlu::kernels
