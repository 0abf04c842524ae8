// Seeded random streams on Philox4x32-10. A Generator is a (seed, offset)
// pair: each draw of n values reserves a block range by advancing the
// offset, so the same seed and the same sequence of draws give the same
// numbers on every run. Init, dropout and data shuffling each take one.
#pragma once

#include <cstdint>
#include <vector>

namespace danlu {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void manual_seed(uint64_t seed) { seed_ = seed; offset_ = 0; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }

  // Reserves the Philox blocks for `words` 32-bit words and returns the offset
  // they start at; kernels then compute word i as philox_word(seed, offset, i).
  uint64_t reserve(uint64_t words);

  // Host conveniences built on reserve().
  std::vector<double> uniform(int64_t n);  // [0, 1)
  std::vector<double> normal(int64_t n);   // N(0, 1)
  uint64_t random_below(uint64_t bound);   // uniform integer in [0, bound)
  // A uniformly random permutation of 0..n-1 (Fisher-Yates), e.g. an epoch's order.
  std::vector<int64_t> randperm(int64_t n);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace danlu
