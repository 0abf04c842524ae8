// Shape: the sizes of a dense row-major tensor, up to 8 dimensions.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace danlu {

class Shape {
 public:
  static constexpr int kMaxDims = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> sizes);
  explicit Shape(const std::vector<int64_t>& sizes);

  int size() const { return ndim_; }  // number of dimensions
  int64_t operator[](int i) const { return sizes_[i]; }
  int64_t& operator[](int i) { return sizes_[i]; }
  const int64_t* begin() const { return sizes_.data(); }
  const int64_t* end() const { return sizes_.data() + ndim_; }

  int64_t numel() const;
  // Product of the sizes in [start, end).
  int64_t numel(int start, int end) const;
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;  // "(2, 3, 5)"

  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, kMaxDims> sizes_{};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& out, const Shape& s);

// Maps a possibly negative dimension index into [0, ndim); throws naming `op`.
int normalize_dim(int64_t dim, int ndim, const char* op);

// The shape two operands broadcast to under NumPy rules; throws naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace danlu
