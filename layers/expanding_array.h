// ExpandingArray<D>: D sizes given as one number used for every dimension or
// as D numbers, as libtorch's: Conv2dOptions(1, 8, 3) or Conv2dOptions(1, 8, {3, 5}).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "engine/error.h"

namespace danlu::nn {

template <size_t D>
class ExpandingArray {
 public:
  ExpandingArray(int64_t value) { values_.fill(value); }  // NOLINT: implicit, as libtorch
  ExpandingArray(std::initializer_list<int64_t> values) {  // NOLINT
    DANLU_CHECK(values.size() == D, "expected one size or ", D,
                " sizes (one per spatial dim), got ", values.size());
    std::copy(values.begin(), values.end(), values_.begin());
  }
  ExpandingArray(const std::array<int64_t, D>& values) : values_(values) {}  // NOLINT

  int64_t operator[](size_t i) const { return values_[i]; }
  const std::array<int64_t, D>& array() const { return values_; }
  const int64_t* begin() const { return values_.data(); }
  const int64_t* end() const { return values_.data() + D; }

 private:
  std::array<int64_t, D> values_;
};

}  // namespace danlu::nn
