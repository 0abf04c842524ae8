// Helpers every op file uses: dtype dispatch to templated kernels and the
// argument checks whose messages name the op and the shapes.
#pragma once

#include "engine/autograd.h"
#include "engine/cuda_context.h"
#include "engine/tensor.h"

// Wraps the CUDA branch of an op: `if (x.device().is_cuda()) { DANLU_CUDA_ONLY(...); }`.
// A CPU-only build compiles no CUDA kernels, and no tensor can live on a GPU there.
#ifdef DANLU_WITH_CUDA
#define DANLU_CUDA_ONLY(...) __VA_ARGS__
#else
#define DANLU_CUDA_ONLY(...) DANLU_FAIL("this build of danlu has no CUDA backend")
#endif

namespace danlu::ops_detail {

// The stream the kernels of an op on tensor `t` (on a GPU) are enqueued on.
inline kernels::Stream stream_of(const Tensor& t) { return compute_stream(t.device()); }

// Calls f(T{}) with T = float or double for a floating tensor; names `op`
// in the error otherwise.
template <class F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: break;
  }
  DANLU_FAIL(op, ": expected a floating tensor (f32 or f64), got ", dtype_name(dtype));
}

// CUDA kernels are f32 only; f64 is a CPU dtype (for gradient checks).
inline void check_cuda_f32(const char* op, const Tensor& t) {
  DANLU_CHECK(t.dtype() == DType::f32, op, ": CUDA ops are f32, got a ", dtype_name(t.dtype()),
              " tensor on ", t.device().str(), "; convert with .to(DType::f32) or use the CPU");
}

inline void check_defined(const char* op, const Tensor& t, const char* what) {
  DANLU_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
}

// Same dtype and device for every defined tensor in `ts`.
inline void check_same_kind(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    if (!first) { first = t; continue; }
    DANLU_CHECK(t->dtype() == first->dtype(), op, ": dtype mismatch, ",
                dtype_name(first->dtype()), " vs ", dtype_name(t->dtype()), " (shapes ",
                first->shape(), " and ", t->shape(), ")");
    DANLU_CHECK(t->device() == first->device(), op, ": device mismatch, ",
                first->device().str(), " vs ", t->device().str());
  }
}

inline void check_dim(const char* op, const Tensor& t, int ndim, const char* what) {
  DANLU_CHECK(t.dim() == ndim, op, ": expected ", what, " to be ", ndim, "-d, got shape ",
              t.shape());
}

// An empty tensor shaped and typed like `like`.
inline Tensor empty_like(const Tensor& like) {
  return Tensor::empty(like.shape(), TensorOptions(like.dtype()).device(like.device()));
}
inline Tensor empty_with(const Shape& shape, const Tensor& like) {
  return Tensor::empty(shape, TensorOptions(like.dtype()).device(like.device()));
}
inline Tensor zeros_with(const Shape& shape, const Tensor& like) {
  return Tensor::zeros(shape, TensorOptions(like.dtype()).device(like.device()));
}

}  // namespace danlu::ops_detail
