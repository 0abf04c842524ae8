// Out-of-range memory accesses in kernels, caught by running the emulated
// suite under AddressSanitizer (preset emulated-asan): device memory is host
// heap memory of exactly the requested size, dynamic shared memory too, and
// __shared__ arrays are statics with redzones around them.
#include <gtest/gtest.h>

#include "kernels/cuda/launch.cuh"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

#if defined(__SANITIZE_ADDRESS__)

using kernels::cuda::launch;
using testing::DeviceBuffer;

__global__ void copy_n(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[i] = in[i];  // the bug: <= instead of <
}

__global__ void static_shared_overflow(float* out) {
  __shared__ float tile[32];
  tile[threadIdx.x] = 1.0f;  // launched with 33 threads
  __syncthreads();
  out[threadIdx.x] = tile[threadIdx.x];
}

__global__ void dynamic_shared_overflow(float* out) {
  DANLU_DYNAMIC_SHARED(float, tile);
  tile[threadIdx.x] = 1.0f;  // launched with room for blockDim.x - 1 floats
  out[threadIdx.x] = tile[0];
}

void overflow_global_memory() {
  DeviceBuffer<float> in(100), out(100);
  launch("copy_n", copy_n, 1, 128, 0, nullptr, in.get(), out.get(), 100);
}

void overflow_static_shared_memory() {
  DeviceBuffer<float> out(33);
  launch("static_shared_overflow", static_shared_overflow, 1, 33, 0, nullptr, out.get());
}

void overflow_dynamic_shared_memory() {
  DeviceBuffer<float> out(16);
  launch("dynamic_shared_overflow", dynamic_shared_overflow, 1, 16, 15 * sizeof(float), nullptr,
         out.get());
}

class EmulatedSanitizer : public ::testing::Test {
 protected:
  // The child re-runs the test binary: no fork of a process with fibers and
  // OpenMP threads in flight.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(EmulatedSanitizer, GlobalMemoryOverflow) {
  DANLU_REQUIRE_GPU();
  EXPECT_DEATH(overflow_global_memory(), "heap-buffer-overflow");
}

TEST_F(EmulatedSanitizer, StaticSharedMemoryOverflow) {
  DANLU_REQUIRE_GPU();
  // UBSan's bounds check sees the fixed-size array and may report first.
  EXPECT_DEATH(overflow_static_shared_memory(),
               "global-buffer-overflow|index 32 out of bounds for type 'float ?\\[32\\]'");
}

TEST_F(EmulatedSanitizer, DynamicSharedMemoryOverflow) {
  DANLU_REQUIRE_GPU();
  EXPECT_DEATH(overflow_dynamic_shared_memory(), "heap-buffer-overflow");
}

#else

TEST(EmulatedSanitizer, NeedsAddressSanitizer) {
  GTEST_SKIP() << "out-of-range accesses are caught under AddressSanitizer: configure with the "
                  "emulated-asan preset";
}

#endif

}  // namespace
}  // namespace danlu
