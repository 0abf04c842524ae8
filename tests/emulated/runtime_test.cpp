// The emulated CUDA runtime and cuBLAS: one device that says it is emulated,
// host-backed device memory whose misuse returns CUDA's errors, the memory
// pool's counters, events, and cuBLAS's column-major GEMM on the CPU GEMM.
#include <gtest/gtest.h>

#include <cublas_v2.h>

#include <string>
#include <vector>

#include "engine/device.h"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

TEST(EmulatedRuntime, OneEmulatedDevice) {
  ASSERT_TRUE(cuda_available());
  EXPECT_EQ(cuda_device_count(), 1);
  const std::vector<CudaDeviceInfo> devices = cuda_devices();
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_NE(devices[0].name.find("emulator"), std::string::npos) << devices[0].name;
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the error clears it
}

TEST(EmulatedRuntime, MemoryMisuseReturnsCudaErrors) {
  DANLU_REQUIRE_GPU();
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 100), cudaSuccess);
  std::vector<char> host(200, 1);
  EXPECT_EQ(cudaMemcpy(p, host.data(), 100, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, host.data(), 101, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), static_cast<char*>(p) + 50, 51, cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), host.data() + 100, 10, cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);  // a host pointer where device memory belongs
  EXPECT_EQ(cudaMemset(static_cast<char*>(p) + 1, 0, 100), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaErrorInvalidValue);  // double free
  EXPECT_EQ(cudaMalloc(&p, size_t{1} << 62), cudaErrorMemoryAllocation);  // more than the device has
  EXPECT_EQ(p, nullptr);
  cudaGetLastError();
}

TEST(EmulatedRuntime, PoolCountsUsedAndPeakBytes) {
  DANLU_REQUIRE_GPU();
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  const auto attribute = [&](cudaMemPoolAttr attr) {
    unsigned long long v = 0;
    EXPECT_EQ(cudaMemPoolGetAttribute(pool, attr, &v), cudaSuccess);
    return v;
  };
  const unsigned long long before = attribute(cudaMemPoolAttrUsedMemCurrent);
  unsigned long long zero = 0;
  ASSERT_EQ(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero), cudaSuccess);
  void* a = nullptr;
  void* b = nullptr;
  ASSERT_EQ(cudaMallocAsync(&a, 1000, nullptr), cudaSuccess);
  ASSERT_EQ(cudaMallocAsync(&b, 500, nullptr), cudaSuccess);
  EXPECT_EQ(attribute(cudaMemPoolAttrUsedMemCurrent), before + 1500);
  ASSERT_EQ(cudaFreeAsync(a, nullptr), cudaSuccess);
  EXPECT_EQ(attribute(cudaMemPoolAttrUsedMemCurrent), before + 500);
  EXPECT_EQ(attribute(cudaMemPoolAttrUsedMemHigh), before + 1500);
  ASSERT_EQ(cudaFreeAsync(b, nullptr), cudaSuccess);
  unsigned long long one = 1;
  EXPECT_EQ(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &one), cudaErrorInvalidValue);
  cudaGetLastError();
}

TEST(EmulatedRuntime, EventsMeasureHostTime) {
  DANLU_REQUIRE_GPU();
  cudaEvent_t start, stop, untimed;
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  ASSERT_EQ(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming), cudaSuccess);
  float ms = -1.0f;
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaErrorInvalidResourceHandle);  // unrecorded
  ASSERT_EQ(cudaEventRecord(start), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(stop), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(untimed), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GE(ms, 0.0f);
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, untimed), cudaErrorInvalidResourceHandle);
  for (cudaEvent_t e : {start, stop, untimed}) EXPECT_EQ(cudaEventDestroy(e), cudaSuccess);
  cudaGetLastError();
}

// Column-major reference: C = alpha op(A) op(B) + beta C.
std::vector<float> column_major_gemm(bool ta, bool tb, int m, int n, int k, float alpha,
                                     const std::vector<float>& a, int lda,
                                     const std::vector<float>& b, int ldb, float beta,
                                     std::vector<float> c, int ldc) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double acc = 0.0;
      for (int p = 0; p < k; ++p)
        acc += double{ta ? a[p + i * lda] : a[i + p * lda]} * (tb ? b[j + p * ldb] : b[p + j * ldb]);
      c[i + j * ldc] = static_cast<float>(alpha * acc + beta * c[i + j * ldc]);
    }
  return c;
}

TEST(EmulatedRuntime, CublasGemmIsColumnMajor) {
  DANLU_REQUIRE_GPU();
  cublasHandle_t handle;
  ASSERT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  const int m = 5, n = 3, k = 4;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      // Leading dimensions one larger than needed, to catch a mixed-up stride.
      const int lda = (ta ? k : m) + 1, ldb = (tb ? n : k) + 1, ldc = m + 1;
      std::vector<float> a(lda * (ta ? m : k)), b(ldb * (tb ? k : n)), c(ldc * n);
      for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) - 3.0f;
      for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 5) - 2.0f;
      for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(i % 3);
      testing::DeviceBuffer<float> d_a(a), d_b(b), d_c(c);
      const float alpha = 1.5f, beta = -0.5f;
      ASSERT_EQ(cublasSgemm_64(handle, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                               m, n, k, &alpha, d_a.get(), lda, d_b.get(), ldb, &beta, d_c.get(),
                               ldc),
                CUBLAS_STATUS_SUCCESS);
      const std::vector<float> want = column_major_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb,
                                                        beta, c, ldc);
      const std::vector<float> got = d_c.to_host();
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(got[i], want[i], 1e-4) << "ta " << ta << " tb " << tb << " at " << i;
    }
  float one = 1.0f;
  EXPECT_EQ(cublasSgemm_64(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, nullptr, m - 1, nullptr,
                           k, &one, nullptr, m),
            CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  EXPECT_EQ(cublasDestroy(handle), CUBLAS_STATUS_SUCCESS);
}

}  // namespace
}  // namespace danlu
