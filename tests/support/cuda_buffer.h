// Test helpers for CUDA kernels: a device buffer filled from / read back into
// a std::vector, and the skip every `gpu` test starts with.
#pragma once

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "engine/device.h"
#include "kernels/cuda/check.h"

// First line of every test that runs a CUDA kernel.
#define DANLU_REQUIRE_GPU()                                                        \
  do {                                                                             \
    if (!::danlu::cuda_available())                                                \
      GTEST_SKIP() << "needs a CUDA GPU: " << ::danlu::cuda_unavailable_reason();  \
  } while (0)

namespace danlu::testing {

// n elements of T in device memory; uploads on construction from a vector.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    // The void** overload: cuda_runtime_api.h has no typed cudaMalloc<T>.
    DANLU_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), n_ * sizeof(T) + 1));
    DANLU_CUDA_CHECK(cudaMemset(data_, 0, n_ * sizeof(T)));
    // The memset runs on the legacy stream, which the non-blocking compute
    // stream does not wait for: finish it before a kernel can touch the buffer.
    DANLU_CUDA_CHECK(cudaDeviceSynchronize());
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    DANLU_CUDA_CHECK(cudaMemcpy(data_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
    // A pageable upload may return before its DMA lands; see above.
    DANLU_CUDA_CHECK(cudaDeviceSynchronize());
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() { return data_; }
  const T* get() const { return data_; }
  size_t size() const { return n_; }
  // Waits for the device and copies the buffer back.
  std::vector<T> to_host() const {
    std::vector<T> host(n_);
    DANLU_CUDA_CHECK(cudaDeviceSynchronize());
    DANLU_CUDA_CHECK(cudaMemcpy(host.data(), data_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  size_t n_;
  T* data_ = nullptr;
};

}  // namespace danlu::testing
