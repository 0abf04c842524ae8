// Shape ops. reshape/flatten are views of contiguous data (no copy);
// permute/transpose/concat/narrow copy through kernels (CPU or CUDA, by the
// tensors' device), as DESIGN.md keeps the engine free of general strides.
#include "engine/ops/shape.h"

#include <numeric>

#include "engine/ops/dispatch.h"
#include "kernels/elementwise.h"

namespace danlu {

using namespace ops_detail;

namespace {

// A view of x's data with another shape (same numel).
Tensor view_as_shape(const Tensor& x, const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.impl()->storage;
  impl->offset = x.impl()->offset;
  impl->shape = shape;
  impl->dtype = x.dtype();
  return Tensor(impl);
}

// Copies part (outer, rows, inner) into whole (outer, rows_total, inner) at
// row_start (insert), or that slab of whole into part (extract).
void copy_slab(bool insert, const char* op, const Tensor& part, const Tensor& whole,
               int64_t outer, int64_t inner, int64_t rows_total, int64_t row_start) {
  const int64_t rows = part.numel() / (outer * inner);
  if (whole.device().is_cuda()) {
    check_cuda_f32(op, whole);
    DANLU_CUDA_ONLY(insert ? kernels::cuda::slab_insert(part.data<float>(), whole.data<float>(),
                                                        outer, rows, inner, rows_total,
                                                        row_start, stream_of(whole))
                           : kernels::cuda::slab_extract(whole.data<float>(), part.data<float>(),
                                                         outer, rows, inner, rows_total,
                                                         row_start, stream_of(whole)));
    return;
  }
  dispatch_floating(whole.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (insert)
      kernels::cpu::slab_insert<T>(part.data<T>(), whole.data<T>(), outer, rows, inner,
                                   rows_total, row_start);
    else
      kernels::cpu::slab_extract<T>(whole.data<T>(), part.data<T>(), outer, rows, inner,
                                    rows_total, row_start);
  });
}

}  // namespace

Tensor reshape(const Tensor& x, const std::vector<int64_t>& sizes) {
  check_defined("reshape", x, "input");
  std::vector<int64_t> resolved = sizes;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      DANLU_CHECK(infer < 0, "reshape: only one size may be -1");
      infer = static_cast<int>(i);
    } else {
      DANLU_CHECK(sizes[i] >= 0, "reshape: invalid size ", sizes[i]);
      known *= sizes[i];
    }
  }
  if (infer >= 0) {
    DANLU_CHECK(known > 0 && x.numel() % known == 0, "reshape: cannot reshape ", x.shape(),
                " (", x.numel(), " elements) with a -1 size");
    resolved[infer] = x.numel() / known;
  }
  const Shape shape(resolved);
  DANLU_CHECK(shape.numel() == x.numel(), "reshape: cannot view ", x.shape(), " (", x.numel(),
              " elements) as ", shape, " (", shape.numel(), " elements)");
  const Shape in_shape = x.shape();
  return record(view_as_shape(x, shape), "reshape", {x}, [in_shape](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(in_shape.vec())};
  });
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined("flatten", x, "input");
  if (x.dim() == 0) return reshape(x, {1});
  const int s = normalize_dim(start_dim, x.dim(), "flatten");
  const int e = normalize_dim(end_dim, x.dim(), "flatten");
  DANLU_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  std::vector<int64_t> sizes;
  for (int d = 0; d < s; ++d) sizes.push_back(x.shape()[d]);
  sizes.push_back(x.shape().numel(s, e + 1));
  for (int d = e + 1; d < x.dim(); ++d) sizes.push_back(x.shape()[d]);
  return reshape(x, sizes);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_defined("permute", x, "input");
  DANLU_CHECK(static_cast<int>(dims.size()) == x.dim(), "permute: ", dims.size(),
              " dimensions given for a tensor of shape ", x.shape());
  int perm[8];
  std::vector<bool> seen(x.dim(), false);
  std::vector<int64_t> out_sizes(x.dim()), inverse(x.dim());
  for (int d = 0; d < x.dim(); ++d) {
    perm[d] = normalize_dim(dims[d], x.dim(), "permute");
    DANLU_CHECK(!seen[perm[d]], "permute: dimension ", dims[d], " appears twice");
    seen[perm[d]] = true;
    out_sizes[d] = x.shape()[perm[d]];
    inverse[perm[d]] = d;
  }
  Tensor out = empty_with(Shape(out_sizes), x);
  if (x.device().is_cuda()) {
    check_cuda_f32("permute", x);
    DANLU_CUDA_ONLY(kernels::cuda::permute(x.data<float>(), out.data<float>(), x.dim(),
                                           x.shape().begin(), perm, stream_of(x)));
  } else {
    dispatch_floating(x.dtype(), "permute", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::permute<T>(x.data<T>(), out.data<T>(), x.dim(), x.shape().begin(), perm);
    });
  }
  return record(out, "permute", {x}, [inverse](const Tensor& g) {
    return std::vector<Tensor>{permute(g, inverse)};
  });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  check_defined("transpose", x, "input");
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[normalize_dim(dim0, x.dim(), "transpose")],
            dims[normalize_dim(dim1, x.dim(), "transpose")]);
  return permute(x, dims);
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  DANLU_CHECK(!xs.empty(), "concat: needs at least one tensor");
  const Tensor& first = xs[0];
  check_defined("concat", first, "tensor 0");
  const int d = normalize_dim(dim, first.dim(), "concat");
  Shape out_shape = first.shape();
  int64_t total = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    check_defined("concat", xs[k], "a tensor");
    check_same_kind("concat", {&first, &xs[k]});
    bool compatible = xs[k].dim() == first.dim();
    for (int i = 0; compatible && i < first.dim(); ++i)
      compatible = i == d || xs[k].shape()[i] == first.shape()[i];
    DANLU_CHECK(compatible, "concat: tensor ", k, " has shape ", xs[k].shape(),
                ", which does not match ", first.shape(), " outside dimension ", d);
    total += xs[k].shape()[d];
  }
  out_shape[d] = total;
  const int64_t outer = out_shape.numel(0, d), inner = out_shape.numel(d + 1, out_shape.size());
  Tensor out = empty_with(out_shape, first);
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (const Tensor& x : xs) {
    if (outer * inner > 0) copy_slab(true, "concat", x, out, outer, inner, total, start);
    starts.push_back(start);
    start += x.shape()[d];
  }
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) shapes.push_back(x.shape());
  return record(out, "concat", xs, [=](const Tensor& g) {
    std::vector<Tensor> grads;
    for (size_t k = 0; k < shapes.size(); ++k) {
      Tensor part = empty_with(shapes[k], g);
      if (outer * inner > 0)
        copy_slab(false, "concat backward", part, g, outer, inner, total, starts[k]);
      grads.push_back(part);
    }
    return grads;
  });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  check_defined("narrow", x, "input");
  const int d = normalize_dim(dim, x.dim(), "narrow");
  const int64_t size = x.shape()[d];
  DANLU_CHECK(start >= 0 && length >= 0 && start <= size - length, "narrow: start ", start,
              " and length ", length, " do not fit in dimension ", d, " (size ", size, ") of ",
              x.shape());
  Shape out_shape = x.shape();
  out_shape[d] = length;
  const int64_t outer = x.shape().numel(0, d), inner = x.shape().numel(d + 1, x.dim());
  Tensor out = empty_with(out_shape, x);
  if (out.numel() > 0) copy_slab(false, "narrow", out, x, outer, inner, size, start);
  const Shape in_shape = x.shape();
  return record(out, "narrow", {x}, [=](const Tensor& g) {
    Tensor dx = zeros_with(in_shape, g);
    if (g.numel() > 0) copy_slab(true, "narrow backward", g, dx, outer, inner, size, start);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace danlu
