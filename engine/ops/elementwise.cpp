// Elementwise arithmetic: forward kernels plus the backward rules
// d(a+b) = (g, g), d(a-b) = (g, -g), d(a*b) = (g*b, g*a), d(a/b) = (g/b, -g*a/b^2),
// each summed back to its operand's shape when the operand was broadcast.
#include "engine/ops/elementwise.h"

#include "engine/ops/dispatch.h"
#include "engine/ops/reduce.h"
#include "kernels/elementwise.h"

namespace danlu {

using namespace ops_detail;
using kernels::BinaryOp;

namespace {

// Strides that let an operand of shape `in` be read in the frame of `out`.
void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides) {
  int64_t stride = 1;
  for (int d = out.size() - 1; d >= 0; --d) {
    const int k = in.size() - out.size() + d;
    const int64_t size = k >= 0 ? in[k] : 1;
    strides[d] = size == 1 ? 0 : stride;
    stride *= size;
  }
}

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
  }
  return "?";
}

Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check_defined(name, a, "a");
  check_defined(name, b, "b");
  check_same_kind(name, {&a, &b});
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty_with(shape, a);
  const bool same = a.shape() == b.shape();
  kernels::BroadcastIndex index;
  index.ndim = shape.size();
  for (int d = 0; d < shape.size(); ++d) index.sizes[d] = shape[d];
  broadcast_strides(a.shape(), shape, index.a_strides);
  broadcast_strides(b.shape(), shape, index.b_strides);
  if (a.device().is_cuda()) {
    check_cuda_f32(name, a);
    DANLU_CUDA_ONLY(
        if (same) {
          kernels::cuda::binary(op, a.data<float>(), b.data<float>(), out.data<float>(),
                                out.numel(), stream_of(a));
        } else {
          kernels::cuda::binary_broadcast(op, a.data<float>(), b.data<float>(),
                                          out.data<float>(), out.numel(), index, stream_of(a));
        });
    return out;
  }
  dispatch_floating(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if (same) {
      kernels::cpu::binary<T>(op, a.data<T>(), b.data<T>(), out.data<T>(), out.numel());
    } else {
      kernels::cpu::binary_broadcast<T>(op, a.data<T>(), b.data<T>(), out.data<T>(),
                                        out.numel(), index);
    }
  });
  return out;
}

Tensor scale_shift(const Tensor& x, double scale, double shift) {
  Tensor out = empty_like(x);
  if (x.device().is_cuda()) {
    check_cuda_f32("scale", x);
    DANLU_CUDA_ONLY(kernels::cuda::scale_shift(x.data<float>(), out.data<float>(), x.numel(),
                                               static_cast<float>(scale),
                                               static_cast<float>(shift), stream_of(x)));
    return out;
  }
  dispatch_floating(x.dtype(), "scale", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::scale_shift<T>(x.data<T>(), out.data<T>(), x.numel(), static_cast<T>(scale),
                                 static_cast<T>(shift));
  });
  return out;
}

}  // namespace

Tensor sum_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const int lead = t.dim() - shape.size();
  DANLU_CHECK(lead >= 0, "sum_to: cannot reduce ", t.shape(), " to ", shape);
  std::vector<int64_t> dims;
  for (int d = 0; d < t.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && t.shape()[d] != 1)) dims.push_back(d);
  Tensor reduced = dims.empty() ? t : sum(t, dims, /*keepdim=*/true);
  return reduced.reshape(shape.vec());
}

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  DANLU_CHECK(broadcast_shapes(t.shape(), shape, "broadcast_to") == shape, "broadcast_to: ",
              t.shape(), " cannot be broadcast to ", shape);
  Tensor out = empty_with(shape, t);
  kernels::BroadcastIndex index;
  index.ndim = shape.size();
  for (int d = 0; d < shape.size(); ++d) index.sizes[d] = shape[d];
  broadcast_strides(t.shape(), shape, index.a_strides);
  if (t.device().is_cuda()) {
    check_cuda_f32("broadcast_to", t);
    DANLU_CUDA_ONLY(kernels::cuda::broadcast_copy(t.data<float>(), out.data<float>(),
                                                  out.numel(), index, stream_of(t)));
  } else {
    dispatch_floating(t.dtype(), "broadcast_to", [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::broadcast_copy<T>(t.data<T>(), out.data<T>(), out.numel(), index);
    });
  }
  const Shape in_shape = t.shape();
  return record(out, "broadcast_to", {t}, [in_shape](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, in_shape)};
  });
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::add, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record(out, "add", {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::sub, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record(out, "sub", {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::mul, a, b);
  Tensor sa = a.detach(), sb = b.detach();
  return record(out, "mul", {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{sum_to(mul(g, sb), sa.shape()), sum_to(mul(g, sa), sb.shape())};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::div, a, b);
  Tensor sa = a.detach(), sb = b.detach();
  return record(out, "div", {a, b}, [sa, sb](const Tensor& g) {
    Tensor ga = div(g, sb);
    Tensor gb = neg(div(mul(ga, sa), sb));
    return std::vector<Tensor>{sum_to(ga, sa.shape()), sum_to(gb, sb.shape())};
  });
}

Tensor add(const Tensor& a, double s) {
  return record(scale_shift(a, 1.0, s), "add_scalar", {a},
                [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor mul(const Tensor& a, double s) {
  return record(scale_shift(a, s, 0.0), "mul_scalar", {a},
                [s](const Tensor& g) { return std::vector<Tensor>{mul(g, s)}; });
}

Tensor neg(const Tensor& a) { return mul(a, -1.0); }

}  // namespace danlu
