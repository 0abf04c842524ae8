// Matrix products on BLAS GEMM. For C = A . B the backward is
// dA = dC . B^T and dB = A^T . dC (per batch); linear is y = x . W^T + b with
// dx = dy . W, dW = dy^T . x and db = the column sums of dy.
#include "engine/ops/linear.h"

#include "engine/ops/dispatch.h"
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
  DANLU_CHECK(a.device().is_cpu(), op, ": only the CPU backend is implemented, got a on ",
              a.device().str());
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

// c[i] = op(a[i]) . op(b[i]) for each of `batch` matrix triples stored back to back.
template <class T>
void batched_gemm(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a,
                  const T* b, T* c) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  for (int64_t i = 0; i < batch; ++i)
    kernels::cpu::gemm<T>(ta, tb, m, n, k, T(1), a + i * m * k, lda, b + i * k * n, ldb, T(0),
                          c + i * m * n, n);
}

Tensor matmul_impl(const char* op, const Tensor& a, const Tensor& b, bool batched_only) {
  const MatmulDims d = matmul_dims(op, a, b, batched_only);
  Shape out_shape = a.shape();
  out_shape[a.dim() - 1] = d.n;
  Tensor out = empty_with(out_shape, a);
  dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    batched_gemm<T>(d.batch, false, false, d.m, d.n, d.k, a.data<T>(), b.data<T>(), out.data<T>());
  });
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  Tensor sa = need_b ? a.detach() : Tensor();
  Tensor sb = need_a ? b.detach() : Tensor();
  const Shape a_shape = a.shape(), b_shape = b.shape();
  return record(out, op, {a, b}, [=](const Tensor& g) {
    Tensor da = need_a ? empty_with(a_shape, g) : Tensor();
    Tensor db = need_b ? empty_with(b_shape, g) : Tensor();
    dispatch_floating(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      if (need_a)  // (m, n) . (k, n)^T
        batched_gemm<T>(d.batch, false, true, d.m, d.k, d.n, g.data<T>(), sb.data<T>(),
                        da.data<T>());
      if (need_b)  // (m, k)^T . (m, n)
        batched_gemm<T>(d.batch, true, false, d.k, d.n, d.m, sa.data<T>(), g.data<T>(),
                        db.data<T>());
    });
    return std::vector<Tensor>{da, db};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) { return matmul_impl("matmul", a, b, false); }

Tensor bmm(const Tensor& a, const Tensor& b) { return matmul_impl("bmm", a, b, true); }

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "linear";
  check_defined(op, x, "input");
  check_defined(op, weight, "weight");
  check_same_kind(op, {&x, &weight, &bias});
  DANLU_CHECK(x.device().is_cpu(), op, ": only the CPU backend is implemented, got input on ",
              x.device().str());
  DANLU_CHECK(x.dim() >= 1, op, ": expected an input (..., in_features), got a 0-d tensor");
  check_dim(op, weight, 2, "weight (out_features, in_features)");
  const int64_t in = weight.shape()[1], out_features = weight.shape()[0];
  DANLU_CHECK(x.shape()[x.dim() - 1] == in, op, ": input ", x.shape(), " has ",
              x.shape()[x.dim() - 1], " features but weight ", weight.shape(), " expects ", in);
  if (bias.defined()) {
    DANLU_CHECK(bias.dim() == 1 && bias.shape()[0] == out_features, op, ": bias ", bias.shape(),
                " does not match weight ", weight.shape(), ": expected (", out_features, ")");
  }
  const int64_t rows = x.numel() / in;
  Shape out_shape = x.shape();
  out_shape[x.dim() - 1] = out_features;
  Tensor y = empty_with(out_shape, x);
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (bias.defined()) {  // every row starts as the bias, then the GEMM adds x . W^T
      kernels::BroadcastIndex index;
      index.ndim = 2;
      index.sizes[0] = rows;
      index.sizes[1] = out_features;
      index.a_strides[1] = 1;
      kernels::cpu::broadcast_copy<T>(bias.data<T>(), y.data<T>(), y.numel(), index);
    }
    kernels::cpu::gemm<T>(false, true, rows, out_features, in, T(1), x.data<T>(), in,
                          weight.data<T>(), in, bias.defined() ? T(1) : T(0), y.data<T>(),
                          out_features);
  });
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.requires_grad();
  Tensor sx = need_w ? x.detach() : Tensor();
  Tensor sw = need_x ? weight.detach() : Tensor();
  const Shape x_shape = x.shape(), w_shape = weight.shape();
  return record(y, op, {x, weight, bias}, [=](const Tensor& g) {
    Tensor dx = need_x ? empty_with(x_shape, g) : Tensor();
    Tensor dw = need_w ? empty_with(w_shape, g) : Tensor();
    Tensor db = need_b ? empty_with({out_features}, g) : Tensor();
    dispatch_floating(g.dtype(), "linear backward", [&](auto tag) {
      using T = decltype(tag);
      if (need_x)  // (rows, out) . (out, in)
        kernels::cpu::gemm<T>(false, false, rows, in, out_features, T(1), g.data<T>(), out_features,
                              sw.data<T>(), in, T(0), dx.data<T>(), in);
      if (need_w)  // (rows, out)^T . (rows, in)
        kernels::cpu::gemm<T>(true, false, out_features, in, rows, T(1), g.data<T>(), out_features,
                              sx.data<T>(), in, T(0), dw.data<T>(), in);
      if (need_b) kernels::cpu::sum_middle<T>(g.data<T>(), db.data<T>(), 1, rows, out_features);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace danlu
