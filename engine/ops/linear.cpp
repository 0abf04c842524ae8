// Matrix products on BLAS GEMM. For C = A . B the backward is
// dA = dC . B^T and dB = A^T . dC (per batch); linear is y = x . W^T + b with
// dx = dy . W, dW = dy^T . x and db = the column sums of dy. On a GPU the
// GEMMs go to cuBLAS, and the bias terms are GEMMs with a vector of ones
// (y = ones . b^T + x . W^T, db = dy^T . ones), so linear needs no other kernel.
#include "engine/ops/linear.h"

#include "engine/ops/dispatch.h"
#include "engine/profile.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/reduce.h"

namespace danlu {

using namespace ops_detail;

namespace {

struct MatmulDims {
  int64_t batch, m, k, n;
};

MatmulDims matmul_dims(const char* op, const Tensor& a, const Tensor& b, bool batched_only) {
  check_defined(op, a, "a");
  check_defined(op, b, "b");
  check_same_kind(op, {&a, &b});
  if (a.device().is_cuda()) check_cuda_f32(op, a);
  if (batched_only) {
    check_dim(op, a, 3, "a (B, M, K)");
    check_dim(op, b, 3, "b (B, K, N)");
  } else {
    DANLU_CHECK(a.dim() == b.dim() && (a.dim() == 2 || a.dim() == 3), op,
                ": expected two 2-d or two 3-d tensors, got ", a.shape(), " and ", b.shape());
  }
  const int r = a.dim();
  DANLU_CHECK(r == 2 || a.shape()[0] == b.shape()[0], op, ": batch sizes differ, ", a.shape(),
              " and ", b.shape());
  DANLU_CHECK(a.shape()[r - 1] == b.shape()[r - 2], op, ": cannot multiply ", a.shape(), " by ",
              b.shape(), ", inner sizes ", a.shape()[r - 1], " and ", b.shape()[r - 2], " differ");
  return {r == 3 ? a.shape()[0] : 1, a.shape()[r - 2], a.shape()[r - 1], b.shape()[r - 1]};
}

// c[i] = op(a[i]) . op(b[i]) for each of `batch` matrix triples stored back
// to back, on c's device.
void batched_gemm(const char* op, int64_t batch, bool ta, bool tb, int64_t m, int64_t n,
                  int64_t k, const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  if (c.device().is_cuda()) {
    DANLU_CUDA_ONLY(kernels::cuda::gemm_strided_batched(
        ta, tb, m, n, k, 1.0f, a.data<float>(), lda, m * k, b.data<float>(), ldb, k * n, 0.0f,
        c.data<float>(), n, m * n, batch, stream_of(c)));
    return;
  }
  dispatch_floating(c.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::gemm_strided_batched<T>(ta, tb, m, n, k, T(1), a.data<T>(), lda, m * k,
                                          b.data<T>(), ldb, k * n, T(0), c.data<T>(), n, m * n,
                                          batch);
  });
}

Tensor matmul_impl(const char* op, const Tensor& a, const Tensor& b, bool batched_only) {
  DANLU_OP_RANGE(op);
  const MatmulDims d = matmul_dims(op, a, b, batched_only);
  Shape out_shape = a.shape();
  out_shape[a.dim() - 1] = d.n;
  Tensor out = empty_with(out_shape, a);
  batched_gemm(op, d.batch, false, false, d.m, d.n, d.k, a, b, out);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  Tensor sa = need_b ? a.detach() : Tensor();
  Tensor sb = need_a ? b.detach() : Tensor();
  const Shape a_shape = a.shape(), b_shape = b.shape();
  return record(out, op, {a, b}, [=](const Tensor& g) {
    Tensor da = need_a ? empty_with(a_shape, g) : Tensor();
    Tensor db = need_b ? empty_with(b_shape, g) : Tensor();
    // da = (m, n) . (k, n)^T, db = (m, k)^T . (m, n)
    if (need_a) batched_gemm(op, d.batch, false, true, d.m, d.k, d.n, g, sb, da);
    if (need_b) batched_gemm(op, d.batch, true, false, d.k, d.n, d.m, sa, g, db);
    return std::vector<Tensor>{da, db};
  });
}

// The sizes linear's kernels need: x is (rows, in), weight (out, in).
struct LinearDims {
  int64_t rows, in, out;
};

void linear_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                LinearDims d) {
  dispatch_floating(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    if (bias.defined()) {  // every row starts as the bias, then the GEMM adds x . W^T
      kernels::BroadcastIndex index;
      index.ndim = 2;
      index.sizes[0] = d.rows;
      index.sizes[1] = d.out;
      index.a_strides[1] = 1;
      kernels::cpu::broadcast_copy<T>(bias.data<T>(), y.data<T>(), y.numel(), index);
    }
    kernels::cpu::gemm<T>(false, true, d.rows, d.out, d.in, T(1), x.data<T>(), d.in,
                          weight.data<T>(), d.in, bias.defined() ? T(1) : T(0), y.data<T>(),
                          d.out);
  });
}

// dx = (rows, out) . (out, in); dw = (rows, out)^T . (rows, in); db = column sums of g.
void linear_backward_cpu(const Tensor& g, const Tensor& x, const Tensor& weight, const Tensor& dx,
                         const Tensor& dw, const Tensor& db, LinearDims d) {
  dispatch_floating(g.dtype(), "linear backward", [&](auto tag) {
    using T = decltype(tag);
    if (dx.defined())
      kernels::cpu::gemm<T>(false, false, d.rows, d.in, d.out, T(1), g.data<T>(), d.out,
                            weight.data<T>(), d.in, T(0), dx.data<T>(), d.in);
    if (dw.defined())
      kernels::cpu::gemm<T>(true, false, d.out, d.in, d.rows, T(1), g.data<T>(), d.out,
                            x.data<T>(), d.in, T(0), dw.data<T>(), d.in);
    if (db.defined()) kernels::cpu::sum_middle<T>(g.data<T>(), db.data<T>(), 1, d.rows, d.out);
  });
}

#ifdef DANLU_WITH_CUDA
Tensor ones_on(int64_t n, Device device) {
  return Tensor::ones({n}, TensorOptions(DType::f32).device(device));
}

void linear_gpu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                LinearDims d) {
  kernels::Stream stream = stream_of(x);
  if (bias.defined()) {  // y = ones (rows, 1) . bias (1, out)
    const Tensor ones = ones_on(d.rows, x.device());
    kernels::cuda::gemm(false, false, d.rows, d.out, 1, 1.0f, ones.data<float>(), 1,
                        bias.data<float>(), d.out, 0.0f, y.data<float>(), d.out, stream);
  }
  kernels::cuda::gemm(false, true, d.rows, d.out, d.in, 1.0f, x.data<float>(), d.in,
                      weight.data<float>(), d.in, bias.defined() ? 1.0f : 0.0f, y.data<float>(),
                      d.out, stream);
}

// As linear_backward_cpu, with db = g^T (out, rows) . ones (rows, 1).
void linear_backward_gpu(const Tensor& g, const Tensor& x, const Tensor& weight, const Tensor& dx,
                         const Tensor& dw, const Tensor& db, LinearDims d) {
  kernels::Stream stream = stream_of(g);
  if (dx.defined())
    kernels::cuda::gemm(false, false, d.rows, d.in, d.out, 1.0f, g.data<float>(), d.out,
                        weight.data<float>(), d.in, 0.0f, dx.data<float>(), d.in, stream);
  if (dw.defined())
    kernels::cuda::gemm(true, false, d.out, d.in, d.rows, 1.0f, g.data<float>(), d.out,
                        x.data<float>(), d.in, 0.0f, dw.data<float>(), d.in, stream);
  if (db.defined()) {
    const Tensor ones = ones_on(d.rows, g.device());
    kernels::cuda::gemm(true, false, d.out, 1, d.rows, 1.0f, g.data<float>(), d.out,
                        ones.data<float>(), 1, 0.0f, db.data<float>(), 1, stream);
  }
}
#endif

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) { return matmul_impl("matmul", a, b, false); }

Tensor bmm(const Tensor& a, const Tensor& b) { return matmul_impl("bmm", a, b, true); }

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "linear";
  DANLU_OP_RANGE(op);
  check_defined(op, x, "input");
  check_defined(op, weight, "weight");
  check_same_kind(op, {&x, &weight, &bias});
  if (x.device().is_cuda()) check_cuda_f32(op, x);
  DANLU_CHECK(x.dim() >= 1, op, ": expected an input (..., in_features), got a 0-d tensor");
  check_dim(op, weight, 2, "weight (out_features, in_features)");
  const int64_t in = weight.shape()[1], out_features = weight.shape()[0];
  DANLU_CHECK(x.shape()[x.dim() - 1] == in, op, ": input ", x.shape(), " has ",
              x.shape()[x.dim() - 1], " features but weight ", weight.shape(), " expects ", in);
  if (bias.defined()) {
    DANLU_CHECK(bias.dim() == 1 && bias.shape()[0] == out_features, op, ": bias ", bias.shape(),
                " does not match weight ", weight.shape(), ": expected (", out_features, ")");
  }
  const LinearDims d{x.numel() / in, in, out_features};
  Shape out_shape = x.shape();
  out_shape[x.dim() - 1] = out_features;
  Tensor y = empty_with(out_shape, x);
  if (x.device().is_cuda()) {
    DANLU_CUDA_ONLY(linear_gpu(x, weight, bias, y, d));
  } else {
    linear_cpu(x, weight, bias, y, d);
  }
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.requires_grad();
  Tensor sx = need_w ? x.detach() : Tensor();
  Tensor sw = need_x ? weight.detach() : Tensor();
  const Shape x_shape = x.shape(), w_shape = weight.shape();
  return record(y, op, {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_x ? empty_with(x_shape, g) : Tensor();
    Tensor dw = need_w ? empty_with(w_shape, g) : Tensor();
    Tensor db = need_b ? empty_with({out_features}, g) : Tensor();
    if (g.device().is_cuda()) {
      DANLU_CUDA_ONLY(linear_backward_gpu(g, sx, sw, dx, dw, db, d));
    } else {
      linear_backward_cpu(g, sx, sw, dx, dw, db, d);
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace danlu
