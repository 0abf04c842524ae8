// Shape arithmetic, dimension normalisation and broadcasting rules.
#include "engine/shape.h"

#include <sstream>

#include "engine/error.h"

namespace danlu {

Shape::Shape(std::initializer_list<int64_t> sizes) : Shape(std::vector<int64_t>(sizes)) {}

Shape::Shape(const std::vector<int64_t>& sizes) {
  DANLU_CHECK(sizes.size() <= static_cast<size_t>(kMaxDims), "Shape: at most ", kMaxDims,
              " dimensions are supported, got ", sizes.size());
  ndim_ = static_cast<int>(sizes.size());
  // Every product of sizes must fit numel's int64, also those that a zero size ends up hiding.
  int64_t product = 1;
  for (int i = 0; i < ndim_; ++i) {
    DANLU_CHECK(sizes[i] >= 0, "Shape: sizes must be non-negative, got ", sizes[i],
                " at dimension ", i);
    DANLU_CHECK(sizes[i] == 0 || !__builtin_mul_overflow(product, sizes[i], &product),
                "Shape: more than 2^63 elements at dimension ", i, " (size ", sizes[i],
                "); a size in the model or the data is corrupt");
    sizes_[i] = sizes[i];
  }
}

int64_t Shape::numel() const { return numel(0, ndim_); }

int64_t Shape::numel(int start, int end) const {
  int64_t n = 1;
  for (int i = start; i < end; ++i) n *= sizes_[i];
  return n;
}

std::string Shape::str() const {
  std::ostringstream out;
  out << '(';
  for (int i = 0; i < ndim_; ++i) out << (i ? ", " : "") << sizes_[i];
  out << ')';
  return out.str();
}

bool Shape::operator==(const Shape& o) const {
  if (ndim_ != o.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (sizes_[i] != o.sizes_[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.str(); }

int normalize_dim(int64_t dim, int ndim, const char* op) {
  DANLU_CHECK(dim >= -ndim && dim < ndim, op, ": dimension ", dim, " is out of range for a ",
              ndim, "-d tensor (valid: ", -ndim, " to ", ndim - 1, ")");
  return static_cast<int>(dim < 0 ? dim + ndim : dim);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  int n = std::max(a.size(), b.size());
  std::vector<int64_t> out(n);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    DANLU_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return Shape(out);
}

}  // namespace danlu
