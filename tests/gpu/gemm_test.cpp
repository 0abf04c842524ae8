// cuBLAS GEMM against the CPU GEMM (OpenBLAS): every transpose combination
// on sizes that are not multiples of any tile, 1 x 1 x 1, alpha/beta with a
// non-zero C, large magnitudes, strided batches (batch 1 and 1000); repeated
// runs give the same bits; TF32 only when allowed; and matmul, bmm and
// linear (forward and backward) on GPU tensors match the same ops on the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "danlu.h"
#include "kernels/gemm.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/error_of.h"
#include "tests/support/expect_close.h"

namespace danlu {
namespace {

using testing::DeviceBuffer;

const Device gpu = Device::cuda(0);

std::vector<float> uniform(size_t n, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// An f32 dot product of length k with |a|, |b| <= s differs from another
// summation order by at most about k * 2^-24 * k * s^2 in the worst case, and
// by ~sqrt(k) * 2^-24 * s^2 * sqrt(k) typically. atol = 4e-6 * k * s^2 sits
// between the two: far above reordering noise for k <= 300, far below the
// O(s^2) error of a wrong transpose or stride. rtol covers large outputs.
double gemm_atol(int64_t k, float scale) { return 4e-6 * static_cast<double>(k) * scale * scale; }
constexpr double kGemmRtol = 1e-5;

struct Case {
  int64_t m, n, k;
};
const Case kCases[] = {{1, 1, 1}, {17, 33, 5}, {65, 129, 257}, {128, 64, 96}, {3, 300, 1}};

std::string name(const Case& c, bool ta, bool tb) {
  return "m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         (ta ? " A^T" : "") + (tb ? " B^T" : "");
}

// C = alpha op(A) op(B) + beta C on both backends; returns {gpu, cpu}.
std::pair<std::vector<float>, std::vector<float>> run_gemm(const Case& c, bool ta, bool tb,
                                                           float scale, uint64_t seed) {
  const float alpha = 1.5f, beta = -0.5f;
  const std::vector<float> a = uniform(c.m * c.k, seed, scale);
  const std::vector<float> b = uniform(c.k * c.n, seed + 1, scale);
  std::vector<float> ref = uniform(c.m * c.n, seed + 2, scale * scale);
  const int64_t lda = ta ? c.m : c.k, ldb = tb ? c.k : c.n;
  DeviceBuffer<float> da(a), db(b), dc(ref);
  kernels::cuda::gemm(ta, tb, c.m, c.n, c.k, alpha, da.get(), lda, db.get(), ldb, beta, dc.get(),
                      c.n, compute_stream(gpu));
  kernels::cpu::gemm<float>(ta, tb, c.m, c.n, c.k, alpha, a.data(), lda, b.data(), ldb, beta,
                            ref.data(), c.n);
  return {dc.to_host(), ref};
}

TEST(CudaGemm, MatchesTheCpuGemmForEveryTranspose) {
  DANLU_REQUIRE_GPU();
  for (const Case& c : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const auto [out, ref] = run_gemm(c, ta, tb, 1.0f, 7);
        EXPECT_TRUE(testing::expect_close(widen(out), widen(ref), gemm_atol(c.k, 1.0f) * 1.5,
                                          kGemmRtol, name(c, ta, tb)));
      }
}

TEST(CudaGemm, LargeMagnitudes) {
  DANLU_REQUIRE_GPU();
  const float scale = 1e3f;  // products up to 1e6, sums up to ~1e8: still far from overflow
  for (bool ta : {false, true}) {
    const Case c{31, 47, 129};
    const auto [out, ref] = run_gemm(c, ta, !ta, scale, 21);
    EXPECT_TRUE(testing::expect_close(widen(out), widen(ref), gemm_atol(c.k, scale) * 1.5,
                                      kGemmRtol, name(c, ta, !ta) + " x1e3"));
  }
}

TEST(CudaGemm, StridedBatchesMatchOneGemmPerMatrix) {
  DANLU_REQUIRE_GPU();
  const struct {
    int64_t batch;
    Case c;
  } cases[] = {{1, {9, 11, 13}}, {37, {17, 5, 33}}, {1000, {3, 5, 7}}};
  for (const auto& [batch, c] : cases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const std::vector<float> a = uniform(batch * c.m * c.k, 31, 1.0f);
        const std::vector<float> b = uniform(batch * c.k * c.n, 32, 1.0f);
        std::vector<float> ref(batch * c.m * c.n);
        const int64_t lda = ta ? c.m : c.k, ldb = tb ? c.k : c.n;
        DeviceBuffer<float> da(a), db(b), dc(ref.size());
        kernels::cuda::gemm_strided_batched(ta, tb, c.m, c.n, c.k, 1.0f, da.get(), lda,
                                            c.m * c.k, db.get(), ldb, c.k * c.n, 0.0f, dc.get(),
                                            c.n, c.m * c.n, batch, compute_stream(gpu));
        for (int64_t i = 0; i < batch; ++i)
          kernels::cpu::gemm<float>(ta, tb, c.m, c.n, c.k, 1.0f, a.data() + i * c.m * c.k, lda,
                                    b.data() + i * c.k * c.n, ldb, 0.0f,
                                    ref.data() + i * c.m * c.n, c.n);
        EXPECT_TRUE(testing::expect_close(widen(dc.to_host()), widen(ref), gemm_atol(c.k, 1.0f),
                                          kGemmRtol,
                                          "batch " + std::to_string(batch) + " " + name(c, ta, tb)));
      }
}

TEST(CudaGemm, RepeatedRunsGiveTheSameBits) {
  DANLU_REQUIRE_GPU();
  const Case c{65, 129, 257};
  const auto first = run_gemm(c, false, true, 1.0f, 5).first;
  const auto second = run_gemm(c, false, true, 1.0f, 5).first;
  EXPECT_EQ(first, second);
}

TEST(CudaGemm, Tf32OnlyWhenAllowed) {
  DANLU_REQUIRE_GPU();
  ASSERT_FALSE(allow_tf32()) << "TF32 must be off by default";
  const Case c{128, 128, 256};
  const auto [full, ref] = run_gemm(c, false, false, 1.0f, 9);
  set_allow_tf32(true);
  const auto tf32 = run_gemm(c, false, false, 1.0f, 9).first;
  set_allow_tf32(false);
  // Full f32 meets the f32 bound. TF32 rounds inputs to 10 mantissa bits
  // (relative error 2^-11 per product), so allow k * 2^-10 * s^2.
  EXPECT_TRUE(testing::expect_close(widen(full), widen(ref), gemm_atol(c.k, 1.0f), kGemmRtol,
                                    "f32 math"));
  EXPECT_TRUE(testing::expect_close(widen(tf32), widen(ref), c.k * std::ldexp(1.0, -10), 0,
                                    "tf32 math"));
}

// Runs f on CPU tensors and on their GPU copies; compares outputs and input gradients.
void expect_op_matches(const std::string& what, const std::vector<Tensor>& inputs,
                       Tensor (*f)(const std::vector<Tensor>&), double atol) {
  std::vector<Tensor> cpu, cuda;
  for (const Tensor& t : inputs) {
    cpu.push_back(t.clone().detach().set_requires_grad(true));
    cuda.push_back(t.to(gpu).set_requires_grad(true));
  }
  const Tensor out_cpu = f(cpu), out_gpu = f(cuda);
  ASSERT_EQ(out_gpu.device(), gpu) << what;
  EXPECT_TRUE(testing::expect_close(out_gpu.to(Device::cpu()), out_cpu, atol, kGemmRtol, what));
  const Tensor seed = Tensor::randn(out_cpu.shape());
  out_cpu.backward(seed);
  out_gpu.backward(seed.to(gpu));
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_TRUE(testing::expect_close(cuda[i].grad().to(Device::cpu()), cpu[i].grad(), atol,
                                      kGemmRtol, what + " grad " + std::to_string(i)));
}

TEST(CudaGemm, MatmulBmmAndLinearOpsMatchTheCpu) {
  DANLU_REQUIRE_GPU();
  manual_seed(4);
  // randn inputs: |x| rarely above 4, so s^2 ~ 16 in the GEMM bound; k <= 41 here.
  const double atol = gemm_atol(41, 4.0f);
  expect_op_matches("matmul", {Tensor::randn({13, 41}), Tensor::randn({41, 7})},
                    [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }, atol);
  expect_op_matches("bmm", {Tensor::randn({5, 9, 11}), Tensor::randn({5, 11, 3})},
                    [](const std::vector<Tensor>& t) { return bmm(t[0], t[1]); }, atol);
  expect_op_matches("linear", {Tensor::randn({2, 19, 33}), Tensor::randn({17, 33}),
                               Tensor::randn({17})},
                    [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, atol);
  expect_op_matches("linear without bias", {Tensor::randn({1, 5}), Tensor::randn({3, 5})},
                    [](const std::vector<Tensor>& t) { return linear(t[0], t[1]); }, atol);
  const std::string e = testing::error_of([] {
    matmul(Tensor::randn({2, 2}, DType::f64).to(gpu), Tensor::randn({2, 2}, DType::f64).to(gpu));
  });
  EXPECT_NE(e.find("matmul: CUDA ops are f32"), std::string::npos) << e;
}

}  // namespace
}  // namespace danlu
