// Stream-ordered allocation on each device's default memory pool.
#include "engine/cuda_memory.h"

#include <iomanip>
#include <mutex>
#include <sstream>
#include <string>

#include "engine/cuda_context.h"
#include "engine/cuda_graph.h"
#include "engine/error.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/check.h"
#endif

namespace danlu {

void require_cuda_device(Device device, const char* what) {
  DANLU_CHECK(device.is_cuda(), what, ": ", device.str(), " is not a CUDA device");
  static const int count = cuda_device_count();
  DANLU_CHECK(count > 0, what, " on ", device.str(), ": ", cuda_unavailable_reason(),
              "; run with --device cpu");
  DANLU_CHECK(device.index >= 0 && device.index < count, what, " on ", device.str(),
              ": this machine has ", count, " CUDA device(s), cuda:0 to cuda:", count - 1);
}

std::string format_bytes(uint64_t bytes) {
  std::ostringstream out;
  out << bytes << " bytes (" << std::fixed << std::setprecision(2)
      << static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0) << " GiB)";
  return out.str();
}

#ifdef DANLU_WITH_CUDA

namespace {

uint64_t pool_attribute(cudaMemPool_t pool, cudaMemPoolAttr attr) {
  uint64_t value = 0;
  DANLU_CUDA_CHECK(cudaMemPoolGetAttribute(pool, attr, &value));
  return value;
}

// The device's default pool; the first call per device raises its release
// threshold so that memory freed back to it stays there for reuse instead of
// going back to the driver at every synchronisation.
cudaMemPool_t pool_of(Device device) {
  require_cuda_device(device, "GPU memory");
  static std::once_flag configured[64];
  DANLU_CHECK(device.index < 64, "GPU memory: danlu supports up to 64 devices, got ",
              device.str());
  cudaMemPool_t pool = nullptr;
  DANLU_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device.index));
  std::call_once(configured[device.index], [pool] {
    uint64_t keep_all = UINT64_MAX;
    DANLU_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
  });
  return pool;
}

}  // namespace

CudaMemoryStats cuda_memory_stats(Device device) {
  cudaMemPool_t pool = pool_of(device);
  return {pool_attribute(pool, cudaMemPoolAttrUsedMemCurrent),
          pool_attribute(pool, cudaMemPoolAttrUsedMemHigh)};
}

void reset_peak_memory(Device device) {
  uint64_t zero = 0;  // the only value the attribute accepts: restart from in_use
  DANLU_CUDA_CHECK(cudaMemPoolSetAttribute(pool_of(device), cudaMemPoolAttrUsedMemHigh, &zero));
}

void* cuda_allocate(size_t bytes, Device device) {
  cudaMemPool_t pool = pool_of(device);
  kernels::Stream stream = compute_stream(device);
  void* data = nullptr;
  cudaError_t status = cudaMallocAsync(&data, bytes, stream);
  if (status == cudaErrorMemoryAllocation) {
    // The pool may hold freed memory in pieces too small for this request:
    // let pending frees finish, hand the pool's idle memory back, try once more.
    cudaGetLastError();
    DANLU_CUDA_CHECK(cudaStreamSynchronize(stream));
    DANLU_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
    status = cudaMallocAsync(&data, bytes, stream);
  }
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    const CudaMemoryStats stats = cuda_memory_stats(device);
    throw OutOfMemory(detail::concat("out of GPU memory on ", device.str(), ": allocating ",
                                     format_bytes(bytes), " with ", format_bytes(stats.in_use),
                                     " in use (peak ", format_bytes(stats.peak), ")"));
  }
  DANLU_CUDA_CHECK(status);
  return data;
}

void cuda_free(void* data, Device device) noexcept {
  if (!data || keep_for_capture(data, device)) return;
  // compute_stream cannot fail for a device that allocated, and the free fails
  // only at exit once the CUDA runtime is gone: nothing to report either way.
  try {
    cudaFreeAsync(data, compute_stream(device));
  } catch (const Error&) {
  }
}

#else  // a CPU-only build: require_cuda_device already refuses every device

CudaMemoryStats cuda_memory_stats(Device device) {
  require_cuda_device(device, "GPU memory");
  return {};
}
void reset_peak_memory(Device device) { require_cuda_device(device, "GPU memory"); }
void* cuda_allocate(size_t, Device device) {
  require_cuda_device(device, "GPU memory");
  return nullptr;
}
void cuda_free(void*, Device) noexcept {}

#endif

}  // namespace danlu
