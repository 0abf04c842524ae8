// The noise of NoisyLinearCosineDecay: a standard normal that is a pure
// function of (seed, step), so that the schedule needs no generator state.
// Schedulers may not use the engine's Philox, and std::normal_distribution
// differs between standard libraries; this is small enough to restate
// anywhere (tests/reference/make_vectors.py does, in Python).
//
//   u(n)  = splitmix64 output n of the stream seeded with `seed`
//         = mix(seed + (n + 1) * 0x9E3779B97F4A7C15)            (mod 2^64)
//   mix   = Steele, Lea & Flood's SplitMix64 finaliser
//   z     = sqrt(-2 ln u1) * cos(2 pi u2)                        (Box-Muller)
//   with u1 = (u(2 step) >> 11 + 1) / 2^53 in (0, 1], u2 = (u(2 step + 1) >> 11) / 2^53 in [0, 1)
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace danlu::sched {

inline uint64_t splitmix64(uint64_t seed, uint64_t n) {
  uint64_t z = seed + (n + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline double standard_normal(uint64_t seed, uint64_t step) {
  const double u1 = double((splitmix64(seed, 2 * step) >> 11) + 1) * 0x1.0p-53;
  const double u2 = double(splitmix64(seed, 2 * step + 1) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace danlu::sched
