// FLOP and byte counts. f32 tensors are 4 bytes an element; the kernels'
// int64 class targets are 8 and int32 max-pool indices 4.
#include "profiler/costs.h"

#include <variant>

namespace danlu::profiler {

namespace {

constexpr double kF32 = 4, kI64 = 8, kI32 = 4;

// x (N, C, H, W), weight (O, C/groups, KH, KW), y (N, O, OH, OW). Each
// direction reads two of the three tensors and writes the third, so all three
// move the same bytes; and each is the same GEMM-shaped reduction, so the
// same FLOPs: 2 * N*O*OH*OW * C/groups*KH*KW.
Cost conv_cost(const kernels::Conv2dShape& s) {
  const double x = double(s.n) * s.c * s.h * s.w;
  const double w = double(s.o) * (s.c / s.groups) * s.kh * s.kw;
  const double y = double(s.n) * s.o * s.oh * s.ow;
  return {2.0 * y * (s.c / s.groups) * s.kh * s.kw, kF32 * (x + w + y)};
}

// Forward (training): read x, weight, bias; read and write running mean and
// variance; write y, save_mean, save_invstd: 2*NCS + 8*C floats. Backward:
// read dy, x, weight, save_mean, save_invstd; write dx, dweight, dbias:
// 3*NCS + 5*C floats.
Cost batchnorm_cost(const BatchNormWork& b, Direction d) {
  const double m = double(b.n) * b.c * b.s, c = double(b.c);
  return {0, kF32 * (d == Direction::forward ? 2 * m + 8 * c : 3 * m + 5 * c)};
}

// Forward: read x, weight, bias; write y, mean, rstd: 2*MD + 2*D + 2*M
// floats. Backward: read dy, x, weight, mean, rstd; write dx, dweight,
// dbias: 3*MD + 3*D + 2*M floats.
Cost layernorm_cost(const LayerNormWork& l, Direction d) {
  const double md = double(l.m) * l.d, m = double(l.m), dd = double(l.d);
  return {0, kF32 * (d == Direction::forward ? 2 * md + 2 * dd + 2 * m : 3 * md + 3 * dd + 2 * m)};
}

// Forward: read x, write y. Backward: read the saved x or y and dy, write dx.
Cost activation_cost(const ActivationWork& a, Direction d) {
  return {0, kF32 * double(a.n) * (d == Direction::forward ? 2 : 3)};
}

// Both directions move the input plane (x or dx) and the output plane (y or
// dy) once; max pooling also writes (forward) or reads (backward) one int32
// index per output.
Cost pool_cost(const PoolWork& p) {
  const double in = double(p.s.planes) * p.s.h * p.s.w;
  const double out = double(p.s.planes) * p.s.oh * p.s.ow;
  return {0, kF32 * (in + out) + (p.kind == PoolKind::max ? kI32 * out : 0)};
}

// Forward (the per-row kernel): read logits and targets, write loss and lse.
// Backward: read logits, targets, lse and the one mean-reduced dloss, write
// dlogits.
Cost xent_cost(const XentWork& x, Direction d) {
  const double logits = double(x.n) * x.classes, n = double(x.n);
  if (d == Direction::forward) return {0, kF32 * logits + kI64 * n + kF32 * 2 * n};
  return {0, kF32 * 2 * logits + kI64 * n + kF32 * (n + 1)};
}

// SGD with momentum: read param, grad, momentum buffer; write param and
// buffer: 5 floats per parameter (the small table of tensor pointers is not
// counted).
Cost optim_cost(const OptimWork& o) {
  double n = 0;
  for (int64_t size : o.sizes) n += double(size);
  return {0, kF32 * 5 * n};
}

// y (rows, out) = x (rows, in) . W^T; dx = dy . W; dW = dy^T . x: each a
// rows x in x out GEMM that reads two of x, W, y and writes the third.
Cost gemm_cost(const GemmWork& g) {
  const double r = double(g.rows), i = double(g.in), o = double(g.out);
  return {2 * r * i * o, kF32 * (r * i + i * o + r * o)};
}

}  // namespace

bool compute_bound(Op op) { return op == Op::conv || op == Op::gemm; }

Cost cost_of(const Workload& w, Direction d) {
  switch (op_of(w)) {
    case Op::conv: return conv_cost(std::get<ConvWork>(w).s);
    case Op::bn: return batchnorm_cost(std::get<BatchNormWork>(w), d);
    case Op::ln: return layernorm_cost(std::get<LayerNormWork>(w), d);
    case Op::act: return activation_cost(std::get<ActivationWork>(w), d);
    case Op::pool: return pool_cost(std::get<PoolWork>(w));
    case Op::xent: return xent_cost(std::get<XentWork>(w), d);
    case Op::optim: return optim_cost(std::get<OptimWork>(w));
    case Op::gemm: return gemm_cost(std::get<GemmWork>(w));
  }
  return {};
}

}  // namespace danlu::profiler
