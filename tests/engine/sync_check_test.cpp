// The count of blocking CUDA runtime calls (engine/sync_check.h). In a CUDA
// build each synchronising call is counted by the linker's wrapper even
// where no GPU answers it; in the emulated build by the emulated runtime.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/sync_check.h"

#if defined(DANLU_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace danlu {
namespace {

TEST(SyncCheck, IsOnlyOnWhenTheVariableIsOne) {
  ::setenv("DANLU_SYNC_CHECK", "1", 1);
  EXPECT_TRUE(sync_check_enabled());
  ::setenv("DANLU_SYNC_CHECK", "0", 1);
  EXPECT_FALSE(sync_check_enabled());
  ::unsetenv("DANLU_SYNC_CHECK");
  EXPECT_FALSE(sync_check_enabled());
}

#if defined(DANLU_WITH_CUDA)
TEST(SyncCheck, EverySynchronisingCallCountsAndAsynchronousOnesDoNot) {
  const int64_t before = blocking_cuda_calls();
  cudaDeviceSynchronize();  // without a GPU these fail; they are counted all the same
  cudaStreamSynchronize(nullptr);
  void* p = nullptr;
  if (cudaMalloc(&p, 256) == cudaSuccess) cudaFree(p);
  else cudaFree(nullptr);
  EXPECT_EQ(blocking_cuda_calls() - before, 4);
  cudaGetLastError();

  const int64_t async_before = blocking_cuda_calls();
  cudaStreamQuery(nullptr);
  cudaGetLastError();
  EXPECT_EQ(blocking_cuda_calls(), async_before);
}
#else
TEST(SyncCheck, ACpuOnlyBuildNeverBlocks) { EXPECT_EQ(blocking_cuda_calls(), 0); }
#endif

}  // namespace
}  // namespace danlu
