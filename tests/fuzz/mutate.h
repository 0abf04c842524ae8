// Seeded mutations of bytes and of JSON text for the fuzz tests: bit flips,
// boundary values written over binary fields, cut, repeated and inserted
// ranges, and JSON numbers replaced by the literals readers get wrong
// (1e999, 2^64 - 1, -0, ...). The same seed gives the same mutations.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace danlu::fuzz {

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  // 1 to 4 mutations anywhere in `bytes`.
  std::string bytes(std::string input);
  // 1 to 4 mutations of bytes [begin, end) only (e.g. a header); the rest is kept.
  std::string range(const std::string& input, size_t begin, size_t end);
  // JSON text: mostly numbers replaced by boundary literals, some byte mutations.
  std::string json(std::string text);

  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }

 private:
  void one_byte_mutation(std::string& s);
  std::mt19937_64 rng_;
};

}  // namespace danlu::fuzz
