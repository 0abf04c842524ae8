// The mutation operators of Mutator.
#include "mutate.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

namespace danlu::fuzz {

namespace {

// Values at the edges of the fields headers hold (counts, sizes, lengths).
constexpr std::array<uint64_t, 10> kBoundaries = {
    0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xffffffffffffffff};

// Literals that break careless number reading.
constexpr std::array<const char*, 22> kNumbers = {
    "1e999", "-1e999", "18446744073709551615", "9223372036854775808", "-9223372036854775809",
    "9223372036854775807", "1e308", "-1", "0", "-0", "0.5", "1e-400", "2147483648",
    "4294967296", "65535", "1e19", "\"1\"", "null", "[]", "{}", "true", "-2147483649"};

}  // namespace

void Mutator::one_byte_mutation(std::string& s) {
  if (s.empty()) {
    s.push_back(char(rng_()));
    return;
  }
  const size_t at = below(s.size());
  switch (below(7)) {
    case 0:  // flip one bit
      s[at] = char(s[at] ^ (1 << below(8)));
      break;
    case 1:  // any byte
      s[at] = char(rng_());
      break;
    case 2: {  // a boundary value over 1, 2, 4 or 8 bytes, either byte order
      const uint64_t v = kBoundaries[below(kBoundaries.size())];
      const size_t width = size_t(1) << below(4);
      const bool big = below(2);
      for (size_t i = 0; i < width && at + i < s.size(); ++i)
        s[at + i] = char(v >> (8 * (big ? width - 1 - i : i)));
      break;
    }
    case 3:  // cut the end off
      s.resize(at);
      break;
    case 4:  // delete a range
      s.erase(at, 1 + below(16));
      break;
    case 5:  // insert random bytes
      s.insert(at, std::string(1 + below(8), char(rng_())));
      break;
    default:  // repeat a range
      s.insert(at, s.substr(at, 1 + below(64)));
      break;
  }
}

std::string Mutator::bytes(std::string input) {
  for (uint64_t n = 1 + below(4); n > 0; --n) one_byte_mutation(input);
  return input;
}

std::string Mutator::range(const std::string& input, size_t begin, size_t end) {
  end = std::min(end, input.size());
  begin = std::min(begin, end);
  std::string part = input.substr(begin, end - begin);
  for (uint64_t n = 1 + below(4); n > 0; --n) one_byte_mutation(part);
  return input.substr(0, begin) + part + input.substr(end);
}

std::string Mutator::json(std::string text) {
  for (uint64_t n = 1 + below(3); n > 0; --n) {
    if (below(4) == 0) {
      one_byte_mutation(text);
      continue;
    }
    // Replace the k-th number token (a run of digits, '.', 'e', '+', '-').
    std::vector<std::pair<size_t, size_t>> tokens;
    for (size_t i = 0; i < text.size();) {
      if ((text[i] >= '0' && text[i] <= '9') || text[i] == '-') {
        size_t j = i;
        while (j < text.size() && std::strchr("0123456789.eE+-", text[j])) ++j;
        tokens.emplace_back(i, j - i);
        i = j;
      } else {
        ++i;
      }
    }
    if (tokens.empty()) continue;
    const auto [at, length] = tokens[below(tokens.size())];
    text.replace(at, length, kNumbers[below(kNumbers.size())]);
  }
  return text;
}

}  // namespace danlu::fuzz
