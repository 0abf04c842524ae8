// Tensor factories, data access, conversions and the autograd accessors.
#include "engine/tensor.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <sstream>

#include "engine/autograd.h"
#include "engine/cuda_copy.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/shape.h"
#include "engine/random.h"
#include "kernels/fill.h"

namespace danlu {

namespace {

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(shape.numel() * element_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return impl;
}

// Calls f(T{}) with T the C++ type of `dtype`.
template <class F>
void for_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: f(float{}); break;
    case DType::f64: f(double{}); break;
    case DType::i64: f(int64_t{}); break;
    case DType::i32: f(int32_t{}); break;
  }
}

template <class Src>
Tensor tensor_from(const std::vector<Src>& values, const Shape& shape, TensorOptions opts) {
  DANLU_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ",
              values.size(), " values cannot fill shape ", shape, " (", shape.numel(),
              " elements)");
  Tensor t = Tensor::empty(shape, TensorOptions(opts).device(Device::cpu()));
  for_dtype(opts.dtype_, [&](auto tag) {
    using T = decltype(tag);
    T* out = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<T>(values[i]);
  });
  t = t.to(opts.device_);
  if (opts.requires_grad_) t.set_requires_grad(true);
  return t;
}

Tensor from_doubles(const std::vector<double>& values, const Shape& shape, TensorOptions opts) {
  return tensor_from(values, shape, opts);
}

#ifdef DANLU_WITH_CUDA
// Every element of `t` (on a GPU) set to `value`, as the bits of t's dtype.
void fill_on_gpu(const Tensor& t, double value) {
  kernels::Stream stream = compute_stream(t.device());
  switch (t.dtype()) {
    case DType::f32:
      kernels::cuda::fill32(static_cast<uint32_t*>(t.raw_data()), t.numel(),
                            std::bit_cast<uint32_t>(static_cast<float>(value)), stream);
      break;
    case DType::f64:
      kernels::cuda::fill64(static_cast<uint64_t*>(t.raw_data()), t.numel(),
                            std::bit_cast<uint64_t>(value), stream);
      break;
    case DType::i64:
      kernels::cuda::fill64(static_cast<uint64_t*>(t.raw_data()), t.numel(),
                            std::bit_cast<uint64_t>(static_cast<int64_t>(value)), stream);
      break;
    case DType::i32:
      kernels::cuda::fill32(static_cast<uint32_t*>(t.raw_data()), t.numel(),
                            std::bit_cast<uint32_t>(static_cast<int32_t>(value)), stream);
      break;
  }
}
#endif

}  // namespace

// ---- factories ---------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, TensorOptions opts) {
  Tensor t(new_impl(shape, opts.dtype_, opts.device_));
  if (opts.requires_grad_) t.set_requires_grad(true);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, TensorOptions opts) { return full(shape, 0.0, opts); }
Tensor Tensor::ones(const Shape& shape, TensorOptions opts) { return full(shape, 1.0, opts); }

Tensor Tensor::full(const Shape& shape, double value, TensorOptions opts) {
  Tensor t = empty(shape, TensorOptions(opts).requires_grad(false));
  t.fill_(value);
  if (opts.requires_grad_) t.set_requires_grad(true);
  return t;
}

Tensor Tensor::scalar(double value, TensorOptions opts) { return full(Shape{}, value, opts); }

Tensor Tensor::randn(const Shape& shape, TensorOptions opts, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  return from_doubles(g.normal(shape.numel()), shape, opts);
}

Tensor Tensor::rand(const Shape& shape, TensorOptions opts, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  return from_doubles(g.uniform(shape.numel()), shape, opts);
}

Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s, TensorOptions o) {
  return tensor_from(v, s, o);
}
Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s, TensorOptions o) {
  return tensor_from(v, s, o);
}
Tensor Tensor::from_vector(const std::vector<int64_t>& v, const Shape& s, TensorOptions o) {
  return tensor_from(v, s, o);
}
Tensor Tensor::from_vector(const std::vector<int32_t>& v, const Shape& s, TensorOptions o) {
  return tensor_from(v, s, o);
}

// ---- metadata ----------------------------------------------------------------

const Shape& Tensor::shape() const {
  DANLU_CHECK(impl_, "use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }

DType Tensor::dtype() const {
  DANLU_CHECK(impl_, "use of an undefined tensor");
  return impl_->dtype;
}

Device Tensor::device() const {
  DANLU_CHECK(impl_, "use of an undefined tensor");
  return impl_->storage->device();
}

std::string Tensor::str() const {
  if (!impl_) return "Tensor(undefined)";
  std::ostringstream out;
  out << "Tensor(" << dtype_name(dtype()) << ", " << shape() << ", " << device().str() << ")";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << t.str(); }

// ---- data access -----------------------------------------------------------------

void* Tensor::raw_data() const {
  DANLU_CHECK(impl_, "use of an undefined tensor");
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * element_size(dtype());
}

template <class T>
T* Tensor::data() const {
  DANLU_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()),
              ">() called on a tensor of dtype ", dtype_name(dtype()));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;
template int32_t* Tensor::data<int32_t>() const;

std::vector<double> Tensor::to_vector() const {
  Tensor host = to(Device::cpu());
  std::vector<double> out(numel());
  for_dtype(dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = host.data<T>();
    for (int64_t i = 0, n = numel(); i < n; ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

double Tensor::item() const {
  DANLU_CHECK(numel() == 1, "item: the tensor has ", numel(), " elements ", shape(),
              "; item() needs exactly one");
  return to_vector()[0];
}

// ---- conversions -------------------------------------------------------------------

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor out = empty(shape(), TensorOptions(dtype()).device(device));
  copy_bytes(out.raw_data(), device, raw_data(), this->device(), numel() * element_size(dtype()));
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  if (device().is_cuda()) {
    // Conversions on a GPU happen when state is loaded, not in a training
    // step, so they go through the host rather than a kernel per dtype pair.
    DANLU_CHECK(target != DType::f64, "to(f64): ", str(), " is on a GPU, where tensors are f32; ",
                "move it to the cpu device first");
    return to(Device::cpu()).to(target).to(device());
  }
  Tensor out = empty(shape(), TensorOptions(target).device(device()));
  for_dtype(dtype(), [&](auto src_tag) {
    using S = decltype(src_tag);
    const S* src = data<S>();
    for_dtype(target, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      D* dst = out.data<D>();
      for (int64_t i = 0, n = numel(); i < n; ++i) dst[i] = static_cast<D>(src[i]);
    });
  });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), TensorOptions(dtype()).device(device()));
  copy_bytes(out.raw_data(), device(), raw_data(), device(), numel() * element_size(dtype()));
  return record(out, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

Tensor& Tensor::fill_(double value) {
  if (device().is_cuda()) {
    DANLU_CUDA_ONLY(fill_on_gpu(*this, value));
    return *this;
  }
  for_dtype(dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = data<T>();
    const T v = static_cast<T>(value);
    std::fill(p, p + numel(), v);
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  DANLU_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_: source ", src.str(),
              " does not match destination ", str());
  copy_bytes(raw_data(), device(), src.raw_data(), src.device(), numel() * element_size(dtype()));
  return *this;
}

// ---- shape ops ------------------------------------------------------------------------

Tensor Tensor::reshape(const std::vector<int64_t>& s) const { return danlu::reshape(*this, s); }
Tensor Tensor::flatten(int64_t start, int64_t end) const { return danlu::flatten(*this, start, end); }
Tensor Tensor::permute(const std::vector<int64_t>& d) const { return danlu::permute(*this, d); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return danlu::transpose(*this, d0, d1); }

// ---- autograd ------------------------------------------------------------------------------

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  DANLU_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can change requires_grad; ",
              "use detach() to cut this tensor from the graph first");
  DANLU_CHECK(!requires_grad || is_floating(dtype()), "set_requires_grad: ",
              dtype_name(dtype()), " tensors cannot require grad; only f32/f64 can");
  impl_->requires_grad = requires_grad;
  return *this;
}

bool Tensor::is_leaf() const { return impl_ && !impl_->grad_fn; }
Tensor Tensor::grad() const { return impl_ ? impl_->grad : Tensor(); }

void Tensor::set_grad(const Tensor& grad) const {
  DANLU_CHECK(!grad.defined() || grad.shape() == shape(), "set_grad: gradient ", grad.shape(),
              " does not match the tensor's shape ", shape());
  impl_->grad = grad;
}

void Tensor::zero_grad() const { impl_->grad = Tensor(); }

void Tensor::backward(const Tensor& gradient) const {
  if (gradient.defined()) {
    run_backward(*this, gradient);
    return;
  }
  DANLU_CHECK(numel() == 1, "backward: the tensor has shape ", shape(),
              "; pass a gradient of that shape or call backward on a scalar loss");
  run_backward(*this, Tensor::ones(shape(), TensorOptions(dtype()).device(device())));
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  return impl_ ? impl_->grad_fn : none;
}

}  // namespace danlu
