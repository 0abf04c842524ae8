// Host side of the Philox streams.
#include "engine/random.h"

#include <utility>

#include "kernels/philox.h"

namespace danlu {

uint64_t Generator::reserve(uint64_t words) {
  uint64_t start = offset_;
  offset_ += (words + 3) / 4;
  return start;
}

std::vector<double> Generator::uniform(int64_t n) {
  uint64_t offset = reserve(n);
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = kernels::philox_uniform(seed_, offset, i);
  return out;
}

std::vector<double> Generator::normal(int64_t n) {
  uint64_t offset = reserve(2 * static_cast<uint64_t>(n));
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = kernels::philox_normal(seed_, offset, i);
  return out;
}

uint64_t Generator::random_below(uint64_t bound) {
  uint64_t offset = reserve(2);
  uint64_t bits = (static_cast<uint64_t>(kernels::philox_word(seed_, offset, 0)) << 32) |
                  kernels::philox_word(seed_, offset, 1);
  return bound ? bits % bound : 0;
}

std::vector<int64_t> Generator::randperm(int64_t n) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[random_below(i + 1)]);
  return order;
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace danlu
