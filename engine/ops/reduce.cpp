// sum/mean over dimensions: each run of adjacent reduced dimensions is one
// pass of the (outer, reduce, inner) kernel; the backward broadcasts the
// gradient back.
#include "engine/ops/reduce.h"

#include <algorithm>

#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"
#include "kernels/reduce.h"

namespace danlu {

using namespace ops_detail;

namespace {

// Sorted, unique, non-negative dims; throws on out-of-range ones.
std::vector<int> normalize_dims(const std::vector<int64_t>& dims, int ndim, const char* op) {
  std::vector<int> out;
  for (int64_t d : dims) out.push_back(normalize_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  DANLU_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op,
              ": a dimension appears twice in the list");
  return out;
}

// y[o, i] = sum_r x[o, r, i] on x's device.
void sum_middle(const Tensor& x, const Tensor& y, int64_t outer, int64_t reduce, int64_t inner) {
  if (x.device().is_cuda()) {
    check_cuda_f32("sum", x);
    DANLU_CUDA_ONLY(kernels::cuda::sum_middle(x.data<float>(), y.data<float>(), outer, reduce,
                                              inner, stream_of(x)));
    return;
  }
  dispatch_floating(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::sum_middle<T>(x.data<T>(), y.data<T>(), outer, reduce, inner);
  });
}

// Sum over `dims` (sorted) keeping them as size-1 dimensions. A run of
// adjacent dimensions is contiguous in memory, so each run is one pass of the
// (outer, reduce, inner) kernel: a full reduction is a single pass.
Tensor sum_keepdim(const Tensor& x, const std::vector<int>& dims) {
  if (dims.empty()) return x.detach().clone();
  Tensor cur = x;
  for (size_t end = dims.size(); end > 0;) {
    size_t begin = end - 1;
    while (begin > 0 && dims[begin - 1] + 1 == dims[begin]) --begin;
    const int first = dims[begin], last = dims[end - 1];
    Shape out_shape = cur.shape();
    for (int d = first; d <= last; ++d) out_shape[d] = 1;
    Tensor next = empty_with(out_shape, cur);
    sum_middle(cur, next, cur.shape().numel(0, first), cur.shape().numel(first, last + 1),
               cur.shape().numel(last + 1, cur.dim()));
    cur = next;
    end = begin;
  }
  return cur;
}

// `g` (reduced shape) broadcast back to `shape`, times `scale`.
Tensor expand_back(const Tensor& g, const Shape& keep_shape, const Shape& shape, double scale) {
  Tensor expanded = broadcast_to(g.reshape(keep_shape.vec()), shape);
  return scale == 1.0 ? expanded : mul(expanded, scale);
}

Tensor reduce(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool average,
              const char* op) {
  check_defined(op, x, "input");
  std::vector<int> ds = normalize_dims(dims, x.dim(), op);
  int64_t count = 1;
  for (int d : ds) count *= x.shape()[d];
  Tensor kept;
  {
    NoGradGuard no_grad;
    kept = sum_keepdim(x, ds);
    if (average) kept = mul(kept, 1.0 / static_cast<double>(count));
  }
  const Shape keep_shape = kept.shape();
  std::vector<int64_t> out_sizes;
  for (int d = 0; d < x.dim(); ++d)
    if (keepdim || !std::binary_search(ds.begin(), ds.end(), d))
      out_sizes.push_back(keep_shape[d]);
  Tensor out = kept.reshape(out_sizes);
  const Shape in_shape = x.shape();
  const double scale = average ? 1.0 / static_cast<double>(count) : 1.0;
  return record(out, op, {x}, [keep_shape, in_shape, scale](const Tensor& g) {
    return std::vector<Tensor>{expand_back(g, keep_shape, in_shape, scale)};
  });
}

std::vector<int64_t> all_dims(const Tensor& x) {
  std::vector<int64_t> dims(x.dim());
  for (int d = 0; d < x.dim(); ++d) dims[d] = d;
  return dims;
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce(x, all_dims(x), false, false, "sum"); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce(x, dims, keepdim, false, "sum");
}
Tensor mean(const Tensor& x) { return reduce(x, all_dims(x), false, true, "mean"); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce(x, dims, keepdim, true, "mean");
}

Tensor argmax(const Tensor& x, int64_t dim) {
  check_defined("argmax", x, "input");
  const int d = normalize_dim(dim, x.dim(), "argmax");
  DANLU_CHECK(x.shape()[d] > 0, "argmax: dimension ", dim, " of ", x.shape(), " is empty");
  std::vector<int64_t> out_sizes;
  for (int k = 0; k < x.dim(); ++k)
    if (k != d) out_sizes.push_back(x.shape()[k]);
  Tensor out = Tensor::empty(Shape(out_sizes), TensorOptions(DType::i64).device(x.device()));
  if (x.device().is_cuda()) {
    check_cuda_f32("argmax", x);
    DANLU_CUDA_ONLY(kernels::cuda::argmax_middle(x.data<float>(), out.data<int64_t>(),
                                                 x.shape().numel(0, d), x.shape()[d],
                                                 x.shape().numel(d + 1, x.dim()), stream_of(x)));
    return out;
  }
  dispatch_floating(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::argmax_middle<T>(x.data<T>(), out.data<int64_t>(), x.shape().numel(0, d),
                                   x.shape()[d], x.shape().numel(d + 1, x.dim()));
  });
  return out;
}

}  // namespace danlu
