// i32 tensors on a GPU: fill (the 32-bit fill kernel), moves both ways,
// conversions through the host, and max pooling's i32 indices saved on the
// device for the backward.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "danlu.h"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

TEST(GpuInt32Tensor, FillMoveAndConvert) {
  DANLU_REQUIRE_GPU();
  const Tensor filled =
      Tensor::full({5}, -123456, TensorOptions(DType::i32).device(Device::cuda()));
  EXPECT_EQ(filled.dtype(), DType::i32);
  EXPECT_EQ(filled.to_vector(), std::vector<double>(5, -123456));
  const int32_t max = std::numeric_limits<int32_t>::max();
  const Tensor host = Tensor::from_vector(std::vector<int32_t>{max, -1, 0}, {3});
  const Tensor device = host.to(Device::cuda());
  EXPECT_TRUE(device.device().is_cuda());
  EXPECT_EQ(device.to(Device::cpu()).to_vector(), host.to_vector());
  EXPECT_EQ(device.to(DType::i64).to_vector(), host.to_vector());
  EXPECT_EQ(device.clone().to_vector(), host.to_vector());
}

// A plane of 64 x 64 positions: offsets up to 4095 held in i32 on the
// device; the gradient reaches exactly the window maxima.
TEST(GpuInt32Tensor, MaxPoolIndicesOnTheDevice) {
  DANLU_REQUIRE_GPU();
  Tensor x = Tensor::randn({2, 3, 64, 64});
  Tensor xg = x.to(Device::cuda()).set_requires_grad();
  Tensor xc = x.clone().set_requires_grad();
  Pool2dParams p;
  p.kernel = {2, 2};
  sum(max_pool2d(xg, p)).backward();
  sum(max_pool2d(xc, p)).backward();
  EXPECT_EQ(xg.grad().to(Device::cpu()).to_vector(), xc.grad().to_vector());
}

}  // namespace
}  // namespace danlu
