// Helpers for comparing CUDA kernels with their CPU references: seeded
// random inputs, float results checked with the suite's tolerance model, and
// bit-for-bit equality for determinism checks.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support/expect_close.h"

namespace danlu::testing {

// n values uniform in [lo, hi), the same for the same seed.
inline std::vector<float> uniform_floats(size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// |ref - out| <= atol + rtol * |ref| elementwise (expect_close on floats).
inline bool expect_close_floats(const std::vector<float>& out, const std::vector<float>& ref,
                                double atol, double rtol, const std::string& what) {
  return expect_close(std::vector<double>(out.begin(), out.end()),
                      std::vector<double>(ref.begin(), ref.end()), atol, rtol, what);
}

// `offset` zero floats, then v: uploaded, its data starts unaligned when
// offset is 1, which exercises the scalar paths of vectorised kernels.
inline std::vector<float> padded(const std::vector<float>& v, int offset) {
  std::vector<float> p(offset, 0.0f);
  p.insert(p.end(), v.begin(), v.end());
  return p;
}

// v without its first `offset` values (the inverse of padded()).
inline std::vector<float> tail(const std::vector<float>& v, int offset) {
  return {v.begin() + offset, v.end()};
}

// Same size and the same bits (NaNs included).
inline bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace danlu::testing
