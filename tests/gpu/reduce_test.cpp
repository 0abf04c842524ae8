// CUDA reductions against the CPU reference on every layout the kernels
// choose between: short rows (a warp per row), long rows (blocks per row,
// sliced with a second pass when there are few rows), a full reduction of a
// large tensor, and column sums (inner > 1) with and without slicing; argmax
// with ties and NaNs; determinism; and the ops on CUDA tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "danlu.h"
#include "kernels/reduce.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;
using testing::uniform_floats;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

struct Layout {
  int64_t outer, reduce, inner;
};

const Layout kLayouts[] = {
    {1, 1, 1},            // one element
    {7, 33, 1},           // short rows, a warp each
    {1000, 1024, 1},      // the longest warp rows
    {3, 1025, 1},         // long rows, one block per row and slice
    {2, 100003, 1},       // few long rows: sliced, second pass
    {1, 1000003, 1},      // a full reduction of a large tensor: 62 slices
    {1, 1000, 3},         // columns narrower than a warp
    {4, 77, 129},         // columns over several tiles, batch 4
    {2, 40000, 10},       // few column tiles: sliced, second pass
    {5, 1, 7},            // nothing to add
    {1, 3, 100003},       // many columns, short reduction
    {256, 49, 64},        // a large batch of per-channel sums
};

// Both sides accumulate in double and round once to float. Recursive
// summation of m terms in double errs by at most (m - 1) * 2^-53 * sum |x|
// on each side, in a different order on each: atol 2 * m * 2^-53 * max
// sum |x|. The final roundings to float can then differ by one float ulp:
// rtol 2^-23.
double sum_atol(const std::vector<float>& x, const Layout& l) {
  double worst = 0.0;
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      double s = 0.0;
      for (int64_t r = 0; r < l.reduce; ++r) s += std::abs(x[(o * l.reduce + r) * l.inner + i]);
      worst = std::max(worst, s);
    }
  return 2.0 * static_cast<double>(l.reduce) * std::ldexp(worst, -53);
}
constexpr double kSumRtol = 1.2e-7;

std::string name(const Layout& l) {
  std::ostringstream out;
  out << "(" << l.outer << ", " << l.reduce << ", " << l.inner << ")";
  return out.str();
}

TEST(GpuReduce, SumMiddleMatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const Layout& l : kLayouts)
    for (float magnitude : {1.0f, 1e30f}) {  // 1e30: sums near 1e36, still finite in float
      const int64_t n = l.outer * l.reduce * l.inner;
      const std::vector<float> x = uniform_floats(n, 31 + n, -magnitude, magnitude);
      std::vector<float> ref(l.outer * l.inner);
      kernels::cpu::sum_middle(x.data(), ref.data(), l.outer, l.reduce, l.inner);
      DeviceBuffer<float> dx(x), dy(ref.size());
      kernels::cuda::sum_middle(dx.get(), dy.get(), l.outer, l.reduce, l.inner, stream());
      std::ostringstream what;
      what << "sum " << name(l) << " magnitude " << magnitude;
      testing::expect_close_floats(dy.to_host(), ref, sum_atol(x, l), kSumRtol, what.str());
    }
}

TEST(GpuReduce, SumIsDeterministic) {
  DANLU_REQUIRE_GPU();
  for (const Layout& l : {Layout{1, 1000003, 1}, Layout{2, 40000, 10}, Layout{7, 33, 1}}) {
    const int64_t n = l.outer * l.reduce * l.inner;
    DeviceBuffer<float> dx(uniform_floats(n, 41, -1.0f, 1.0f));
    DeviceBuffer<float> first(l.outer * l.inner), second(l.outer * l.inner);
    kernels::cuda::sum_middle(dx.get(), first.get(), l.outer, l.reduce, l.inner, stream());
    kernels::cuda::sum_middle(dx.get(), second.get(), l.outer, l.reduce, l.inner, stream());
    EXPECT_TRUE(bitwise_equal(first.to_host(), second.to_host())) << name(l);
  }
}

// Values from {0, ..., 4} so that rows hold many equal maxima (the first
// wins), NaN at index 0 of some rows (the CPU keeps index 0) and elsewhere in
// others (the CPU never moves to a NaN).
std::vector<float> argmax_input(const Layout& l) {
  const int64_t n = l.outer * l.reduce * l.inner;
  std::vector<float> x = uniform_floats(n, 51 + n, 0.0f, 5.0f);
  for (float& v : x) v = std::floor(v);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      float* column = x.data() + o * l.reduce * l.inner + i;
      const int64_t line = o * l.inner + i;
      if (line % 5 == 1) column[0] = nan;
      if (line % 5 == 2 && l.reduce > 1) column[(l.reduce / 2) * l.inner] = nan;
      if (line % 5 == 3) column[(l.reduce - 1) * l.inner] = 7.0f;  // the last is the maximum
    }
  return x;
}

TEST(GpuReduce, ArgmaxMatchesCpuWithTiesAndNans) {
  DANLU_REQUIRE_GPU();
  for (const Layout& l : {Layout{1, 1, 1}, Layout{9, 31, 1}, Layout{300, 1024, 1},
                          Layout{5, 70001, 1}, Layout{3, 17, 33}, Layout{1, 1000, 2}}) {
    const std::vector<float> x = argmax_input(l);
    std::vector<int64_t> ref(l.outer * l.inner);
    kernels::cpu::argmax_middle(x.data(), ref.data(), l.outer, l.reduce, l.inner);
    DeviceBuffer<float> dx(x);
    DeviceBuffer<int64_t> dy(ref.size());
    kernels::cuda::argmax_middle(dx.get(), dy.get(), l.outer, l.reduce, l.inner, stream());
    EXPECT_EQ(dy.to_host(), ref) << name(l);
  }
}

// ---- ops on CUDA tensors ------------------------------------------------------------

std::vector<float> floats(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  return {v.begin(), v.end()};
}

// sum/mean over dimension lists (adjacent runs become one pass, separate
// runs two) and their backward. Terms are in [-1, 1) and at most 3 * 7 * 11
// are added: the sum bound above gives atol 2 * 231 * 2^-53 * 231 < 1e-11;
// the passes' float roundings differ by an ulp each (rtol 2.4e-7 for two
// passes), and a second pass adds first-pass sums of size <= 77, whose ulp
// differences survive cancellation: atol 77 * 2^-24 < 5e-6.
TEST(GpuReduceOps, SumAndMeanOverDimsMatchCpu) {
  DANLU_REQUIRE_GPU();
  const std::vector<float> v = uniform_floats(2 * 3 * 7 * 11, 61, -1.0f, 1.0f);
  const Shape shape{2, 3, 7, 11};
  const std::vector<std::vector<int64_t>> dim_lists = {{}, {3}, {0}, {1, 2}, {0, 2}, {0, 1, 2, 3},
                                                       {-1, 1}};
  for (const auto& dims : dim_lists)
    for (bool average : {false, true}) {
      Tensor x_cpu = Tensor::from_vector(v, shape, TensorOptions().requires_grad());
      Tensor x_gpu = Tensor::from_vector(v, shape,
                                         TensorOptions().device(Device::cuda()).requires_grad());
      Tensor y_cpu = average ? mean(x_cpu, dims, true) : sum(x_cpu, dims, true);
      Tensor y_gpu = average ? mean(x_gpu, dims, true) : sum(x_gpu, dims, true);
      ASSERT_EQ(y_gpu.shape(), y_cpu.shape());
      testing::expect_close_floats(floats(y_gpu), floats(y_cpu), 5e-6, 2.4e-7,
                                   average ? "mean" : "sum");
      const Tensor g = Tensor::from_vector(uniform_floats(y_cpu.numel(), 62, -1, 1),
                                           y_cpu.shape());
      y_cpu.backward(g);
      y_gpu.backward(g.to(Device::cuda()));
      EXPECT_TRUE(bitwise_equal(floats(x_gpu.grad()), floats(x_cpu.grad())));
    }
  Tensor full = sum(Tensor::from_vector(v, shape, TensorOptions().device(Device::cuda())));
  EXPECT_EQ(full.dim(), 0);
  EXPECT_NEAR(full.item(), sum(Tensor::from_vector(v, shape)).item(), 5e-6);
}

TEST(GpuReduceOps, ArgmaxMatchesCpu) {
  DANLU_REQUIRE_GPU();
  const Layout l{4, 10, 6};
  const std::vector<float> x = argmax_input(l);
  const Tensor t = Tensor::from_vector(x, Shape{4, 10, 6});
  for (int64_t dim : {0, 1, 2, -1}) {
    const Tensor ref = argmax(t, dim), out = argmax(t.to(Device::cuda()), dim);
    EXPECT_TRUE(out.device().is_cuda());
    EXPECT_EQ(out.to_vector(), ref.to_vector()) << "dim " << dim;
  }
}

}  // namespace
}  // namespace danlu
