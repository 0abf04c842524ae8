// Tensor: a cheap handle to dense, row-major data (shared Storage + Shape +
// element offset) plus its autograd state. Copying a Tensor copies the
// handle, never the data; clone() copies the data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace danlu {

class Generator;
struct Node;
struct TensorImpl;

// What a factory function creates: libtorch-style chained options.
struct TensorOptions {
  DType dtype_ = DType::f32;
  Device device_ = Device::cpu();
  bool requires_grad_ = false;

  TensorOptions() = default;
  TensorOptions(DType t) : dtype_(t) {}  // NOLINT: allow `Tensor::zeros(s, DType::f64)`
  TensorOptions& dtype(DType t) { dtype_ = t; return *this; }
  TensorOptions& device(Device d) { device_ = d; return *this; }
  TensorOptions& requires_grad(bool r = true) { requires_grad_ = r; return *this; }
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() is false

  // ---- factories -----------------------------------------------------------
  static Tensor empty(const Shape& shape, TensorOptions opts = {});
  static Tensor zeros(const Shape& shape, TensorOptions opts = {});
  static Tensor ones(const Shape& shape, TensorOptions opts = {});
  static Tensor full(const Shape& shape, double value, TensorOptions opts = {});
  static Tensor scalar(double value, TensorOptions opts = {});  // 0-d tensor
  // Standard normal / uniform [0, 1) values from the generator (default: the
  // global generator seeded by manual_seed).
  static Tensor randn(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);
  static Tensor rand(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);
  // Copies `values` (converted to opts.dtype) into a new tensor of `shape`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            TensorOptions opts = {});
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                            TensorOptions opts = {});
  static Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape,
                            TensorOptions opts = DType::i64);
  static Tensor from_vector(const std::vector<int32_t>& values, const Shape& shape,
                            TensorOptions opts = DType::i32);

  // ---- metadata --------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int dim() const { return shape().size(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;
  std::string str() const;  // "Tensor(f32, (2, 3), cpu)"

  // ---- data access ---------------------------------------------------------------
  // Typed pointer to the first element (a device pointer for a GPU tensor);
  // throws when T does not match dtype().
  template <class T> T* data() const;
  void* raw_data() const;
  // All elements as doubles (any dtype, any device).
  std::vector<double> to_vector() const;
  double item() const;  // the value of a one-element tensor

  // ---- conversions (new data, not recorded by autograd) -------------------------
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;  // deep copy; recorded by autograd like PyTorch's clone
  Tensor detach() const;  // shares data, no autograd history
  // In-place writes outside autograd (init, optimizers, running stats).
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // same shape and dtype, any device

  // ---- views and shape ops (recorded by autograd) -------------------------------
  Tensor reshape(const std::vector<int64_t>& sizes) const;  // one size may be -1
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;

  // ---- autograd ------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& set_requires_grad(bool requires_grad = true);  // leaves only
  bool is_leaf() const;
  // The accumulated gradient (undefined until a backward pass reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;  // drops the gradient (PyTorch's set_to_none)
  // Backpropagates from this tensor. A one-element tensor needs no gradient;
  // otherwise pass d(loss)/d(this) with this tensor's shape.
  void backward(const Tensor& gradient = Tensor()) const;
  const std::shared_ptr<Node>& grad_fn() const;

  // ---- internals used by ops and autograd ----------------------------------------
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::f32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

// A kernel's pointer to an optional tensor (bias, a state buffer, a gradient
// that is not needed): null when the tensor is undefined.
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace danlu
