// The error bound of a convolution pass computed on TF32 tensor cores, per
// output element, and the check of a kernel's answer against it.
//
// Each output is a sum of K products a_k b_k (forward: x and weight, K =
// Cg*KH*KW; backward-data: dy and weight, K = Og*KH*KW; backward-weight: x
// and dy, K = N*OH*OW). The kernel rounds both operands to the nearest TF32
// value (10 stored mantissa bits, so a relative error |e| <= 2^-11 each),
// multiplies exactly (two 11-bit significands fit FP32's 24) and adds in
// FP32. Per product
//   |a'b' - ab| = |ab| |(1 + e1)(1 + e2) - 1| <= (2^-10 + 2^-22) |ab|,
// and the at most K additions of the sum, each rounding by at most 2^-24 of
// a partial sum no larger than S' = sum_k |a'_k b'_k| = (1 + 2^-10 + 2^-22) S,
// add at most K 2^-24 S'. With S = sum_k |a_k b_k|:
//   |out - ref| <= (2^-10 + 2^-22) S + K 2^-24 (1 + 2^-9) S,
// (2^-9 bounds the 2^-10 + 2^-22 of S'), plus 2^-23 |ref| for the final
// roundings (the bias added to y). S is the reference pass run in double on
// |x|, |weight| and |dy|. The bound is per element and never loose by more
// than the analysis: a wrong or missing term of size |a_k b_k| ~ S / K is
// caught while K stays below about 2^10.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_reference.h"
#include "tests/support/conv_problem.h"
#include "tests/support/expect_close.h"

namespace danlu::testing {

// The f64 reference of pass p on p's data, the sums S of |terms| of each of
// its outputs, and K.
struct Tf32Reference {
  std::vector<double> ref, abs_sum;
  int64_t k = 0;
};

inline Tf32Reference tf32_reference(const ConvProblem<double>& p, kernels::cuda::ConvPass pass) {
  namespace ref = kernels::reference;
  using kernels::cuda::ConvPass;
  const auto abs_of = [](const std::vector<double>& v) {
    std::vector<double> a(v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = std::abs(v[i]);
    return a;
  };
  const kernels::Conv2dShape& s = p.s;
  const std::vector<double> ax = abs_of(p.x), aw = abs_of(p.w), ady = abs_of(p.dy);
  Tf32Reference r;
  if (pass == ConvPass::forward) {
    r.ref = p.y_ref;
    r.abs_sum.resize(p.y_ref.size());
    ref::conv2d_forward<double>(ax.data(), aw.data(), nullptr, r.abs_sum.data(), s);
    r.k = s.c / s.groups * s.kh * s.kw;
  } else if (pass == ConvPass::backward_data) {
    r.ref = p.grads_ref.dx;
    r.abs_sum.resize(r.ref.size());
    ref::conv2d_backward_data<double>(aw.data(), ady.data(), r.abs_sum.data(), s);
    r.k = s.o / s.groups * s.kh * s.kw;
  } else {
    r.ref = p.grads_ref.dw;
    r.abs_sum.resize(r.ref.size());
    ref::conv2d_backward_weight<double>(ax.data(), ady.data(), r.abs_sum.data(), nullptr, s);
    r.k = s.n * s.oh * s.ow;
  }
  return r;
}

// The bound above for each output of r.
inline std::vector<double> tf32_atol(const Tf32Reference& r) {
  const double per_sum = 0x1p-10 + 0x1p-22 + double(r.k) * 0x1p-24 * (1 + 0x1p-9);
  std::vector<double> atol(r.abs_sum.size());
  for (size_t i = 0; i < atol.size(); ++i) atol[i] = per_sum * r.abs_sum[i];
  return atol;
}

// got (a pass's f32 result) against the f64 reference, within the TF32 bound.
inline void expect_tf32_pass(const ConvProblem<double>& p, kernels::cuda::ConvPass pass,
                             const std::vector<float>& got, const std::string& what) {
  const Tf32Reference r = tf32_reference(p, pass);
  expect_close(std::vector<double>(got.begin(), got.end()), r.ref, tf32_atol(r), 0x1p-23,
               what + " (TF32 bound)");
}

}  // namespace danlu::testing
