// Sample statistics of a tensor's values, for tests of random initialisers.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/tensor.h"

namespace danlu::testing {

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;  // std: the unbiased sample estimate
};

inline Stats stats(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  Stats s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size() - 1));
  return s;
}

}  // namespace danlu::testing
