// The fused scaled, masked softmax on the GPU against its CPU reference:
// rows short enough for a warp (1, 7, 33, 1000) and long enough for a block
// (1025, 1500), no mask, a mask shared by every row block and a full mask,
// rows with every key masked, scores of +-80; the boolean mask's conversion;
// then attention and MultiheadAttention (with and without key padding) on
// GPU tensors through autograd against the CPU.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/cuda_context.h"
#include "kernels/attention_softmax.h"
#include "layers/layers.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using testing::DeviceBuffer;
using testing::expect_close_floats;
using testing::uniform_floats;

struct Case {
  int64_t rows, cols, mask_rows;  // mask_rows 0: no mask
};

const Case kCases[] = {{1, 1, 0},   {5, 7, 0},     {7, 33, 7},    {12, 33, 3},
                       {4, 1000, 2}, {3, 1025, 0}, {2, 1500, 1}, {64, 10, 5}};

kernels::Stream stream() { return compute_stream(Device::cuda()); }

std::string describe(const Case& c, float range) {
  return std::string("(") + std::to_string(c.rows) + ", " + std::to_string(c.cols) +
         ") mask rows " + std::to_string(c.mask_rows) + " range " + std::to_string(range);
}

// A mask of `rows` rows with values in [-2, 2), -inf at every fifth entry
// and in all of row 0 when `drop_first_row` (a query that may see no key).
std::vector<float> make_mask(int64_t rows, int64_t cols, bool drop_first_row) {
  std::vector<float> m = uniform_floats(rows * cols, 7 + rows * cols, -2.0f, 2.0f);
  for (size_t i = 0; i < m.size(); i += 5) m[i] = -std::numeric_limits<float>::infinity();
  if (drop_first_row)
    for (int64_t k = 0; k < cols; ++k) m[k] = -std::numeric_limits<float>::infinity();
  return m;
}

// Forward: both sides form z = scale * x + mask in float (the GPU may fuse it
// into one FMA: 1 ulp of |z| <= 162, 2e-5 absolute before exp, i.e. 2e-5
// relative on y), subtract the same max and exponentiate (expf against exp,
// 2 ulp); sums in float against double (relative 1e-6 for 1500 terms):
// rtol 5e-5, atol 1e-6. Backward, from the same y and dy: one dot product
// per row in float against double, then the same formula: rtol 1e-5,
// atol 1e-6 (|dy| <= 1, scale <= 2).
constexpr double kForwardRtol = 5e-5, kBackwardRtol = 1e-5, kAtol = 1e-6;

void check_against_cpu(const Case& c, float range, bool drop_first_row) {
  const std::string what = describe(c, range) + (drop_first_row ? " row 0 masked" : "");
  const int64_t n = c.rows * c.cols;
  const float scale = 0.37f;
  const std::vector<float> x = uniform_floats(n, 3 + n, -range, range);
  const std::vector<float> dy = uniform_floats(n, 4 + n, -1.0f, 1.0f);
  const std::vector<float> mask =
      c.mask_rows ? make_mask(c.mask_rows, c.cols, drop_first_row) : std::vector<float>(1);
  const float* mask_cpu = c.mask_rows ? mask.data() : nullptr;
  std::vector<float> y_ref(n), dx_ref(n);
  kernels::cpu::scaled_masked_softmax_forward(x.data(), mask_cpu, y_ref.data(), c.rows, c.cols,
                                              c.mask_rows, scale);
  kernels::cpu::scaled_masked_softmax_backward(y_ref.data(), dy.data(), dx_ref.data(), c.rows,
                                               c.cols, scale);

  DeviceBuffer<float> d_x(x), d_mask(mask), d_y(n), d_y_ref(y_ref), d_dy(dy), d_dx(n);
  kernels::cuda::scaled_masked_softmax_forward(d_x.get(), c.mask_rows ? d_mask.get() : nullptr,
                                               d_y.get(), c.rows, c.cols, c.mask_rows, scale,
                                               stream());
  kernels::cuda::scaled_masked_softmax_backward(d_y_ref.get(), d_dy.get(), d_dx.get(), c.rows,
                                                c.cols, scale, stream());
  expect_close_floats(d_y.to_host(), y_ref, kAtol, kForwardRtol, what + " forward");
  expect_close_floats(d_dx.to_host(), dx_ref, kAtol, kBackwardRtol, what + " backward");
}

TEST(GpuAttentionSoftmax, MatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const Case& c : kCases) check_against_cpu(c, 4.0f, false);
}

// exp(+-80 * scale - max) over- and underflows unless the max is subtracted.
TEST(GpuAttentionSoftmax, LargeScoresMatchCpu) {
  DANLU_REQUIRE_GPU();
  for (const Case& c : kCases) check_against_cpu(c, 80.0f, false);
}

// Every row that uses mask row 0 sees no key: zeros, not NaN, on both sides.
TEST(GpuAttentionSoftmax, FullyMaskedRowsAreZero) {
  DANLU_REQUIRE_GPU();
  for (const Case& c : kCases)
    if (c.mask_rows > 0) check_against_cpu(c, 4.0f, true);
}

// A boolean (i64) mask becomes -inf where nonzero and 0 elsewhere on the
// device, exactly as on the CPU, for sizes below, at and past one block.
TEST(GpuAttentionSoftmax, BooleanMaskConvertsOnTheDevice) {
  DANLU_REQUIRE_GPU();
  for (const int64_t n : {int64_t{1}, int64_t{255}, int64_t{256}, int64_t{1000}}) {
    std::vector<int64_t> drop(n);
    for (int64_t i = 0; i < n; ++i) drop[i] = i % 3 == 0 ? 0 : (i % 3 == 1 ? 1 : -7);
    std::vector<float> expected(n);
    kernels::cpu::boolean_to_additive_mask(drop.data(), expected.data(), n);
    DeviceBuffer<int64_t> d_drop(drop);
    DeviceBuffer<float> d_additive(n);
    kernels::cuda::boolean_to_additive_mask(d_drop.get(), d_additive.get(), n, stream());
    const std::vector<float> got = d_additive.to_host();
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(got[i], expected[i]) << "n " << n << " element " << i;
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(expected[i], drop[i] != 0 ? -std::numeric_limits<float>::infinity() : 0.0f);
  }
}

// Attention (masked, dropout off) and MultiheadAttention on GPU tensors
// through autograd against the CPU. The chain adds GEMMs (cuBLAS against the
// CPU GEMM, float sums of <= 16 terms) to the kernel's error: rtol 1e-4,
// atol 1e-5 on values and gradients of magnitude ~1.
TEST(GpuAttentionOp, AttentionAndMultiheadAttentionMatchCpu) {
  DANLU_REQUIRE_GPU();
  const Device gpu = Device::cuda(), cpu = Device::cpu();
  Generator gen(19);
  const Tensor q = Tensor::randn({6, 5, 4}, {}, &gen), k = Tensor::randn({6, 7, 4}, {}, &gen);
  const Tensor v = Tensor::randn({6, 7, 3}, {}, &gen);
  const Tensor mask = Tensor::from_vector(make_mask(5, 7, false), {5, 7});
  const Tensor gy = Tensor::randn({6, 5, 3}, {}, &gen);
  std::vector<Tensor> cpu_in{q.clone().set_requires_grad(), k.clone().set_requires_grad(),
                             v.clone().set_requires_grad()};
  std::vector<Tensor> gpu_in{q.to(gpu).set_requires_grad(), k.to(gpu).set_requires_grad(),
                             v.to(gpu).set_requires_grad()};
  Tensor y = scaled_dot_product_attention(cpu_in[0], cpu_in[1], cpu_in[2], mask);
  Tensor yg = scaled_dot_product_attention(gpu_in[0], gpu_in[1], gpu_in[2], mask.to(gpu));
  y.backward(gy);
  yg.backward(gy.to(gpu));
  testing::expect_close(yg.to(cpu), y, 1e-5, 1e-4, "attention y");
  for (int i = 0; i < 3; ++i)
    testing::expect_close(gpu_in[i].grad().to(cpu), cpu_in[i].grad(), 1e-5, 1e-4,
                          "attention grad " + std::to_string(i));

  nn::MultiheadAttention on_cpu(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  nn::MultiheadAttention on_gpu(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  on_gpu.load_state_dict(on_cpu.state_dict());
  on_gpu.to(gpu);
  const Tensor x = Tensor::randn({3, 5, 8}, {}, &gen), gx = Tensor::randn({3, 5, 8}, {}, &gen);
  Tensor xc = x.clone().set_requires_grad(), xg = x.to(gpu).set_requires_grad();
  Tensor out = on_cpu.forward(xc), out_g = on_gpu.forward(xg);
  out.backward(gx);
  out_g.backward(gx.to(gpu));
  testing::expect_close(out_g.to(cpu), out, 1e-5, 1e-4, "mha y");
  testing::expect_close(xg.grad().to(cpu), xc.grad(), 1e-5, 1e-4, "mha dx");
  testing::expect_close(on_gpu.in_proj_weight.grad().to(cpu), on_cpu.in_proj_weight.grad(), 1e-5,
                        1e-4, "mha d in_proj_weight");

  // A boolean key padding mask, converted on the device: the last two keys
  // of sample 0 and the first of sample 2 are padding.
  const Tensor padding =
      Tensor::from_vector(std::vector<int64_t>{0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, {3, 5},
                          TensorOptions(DType::i64));
  const Tensor masked = on_cpu.forward(x, x, x, Tensor(), padding);
  const Tensor masked_g = on_gpu.forward(x.to(gpu), x.to(gpu), x.to(gpu), Tensor(),
                                         padding.to(gpu));
  testing::expect_close(masked_g.to(cpu), masked, 1e-5, 1e-4, "mha y with key padding");
}

}  // namespace
}  // namespace danlu
