// The CUDA runtime API of the emulated build (include/cuda_runtime_api.h).
// Device memory is host memory from posix_memalign, tracked so that
// cudaFree of a foreign pointer, a copy that runs past an allocation and the
// memory pool's used/peak counters behave as on a GPU. Work completes inside
// the call that enqueues it, unless its stream is capturing
// (kernels/emulated/streams.cpp has streams, events, capture and graphs).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>

#include "kernels/emulated/capture.h"
#include "kernels/emulated/device_limits.h"
#include "kernels/emulated/device_memory.h"
#include "kernels/emulated/include/cuda_runtime_api.h"

struct CUmemPoolHandle_st {
  unsigned long long release_threshold = 0;
};

namespace {

// CUDA aligns allocations to at least 256 bytes.
constexpr size_t kAllocationAlignment = 256;

struct Memory {
  std::mutex mutex;
  std::map<const char*, size_t> device;  // start -> bytes
  std::map<const char*, size_t> host;    // pinned host allocations: start -> bytes
  unsigned long long used = 0;
  unsigned long long peak = 0;
  CUmemPoolHandle_st pool;
};

Memory& memory() {
  static Memory m;
  return m;
}

thread_local cudaError_t last_error = cudaSuccess;

// True when [p, p + bytes) lies inside one allocation of `allocations`.
bool inside(const std::map<const char*, size_t>& allocations, const void* p, size_t bytes) {
  Memory& m = memory();
  std::lock_guard lock(m.mutex);
  const char* c = static_cast<const char*>(p);
  auto it = allocations.upper_bound(c);
  if (it == allocations.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

}  // namespace

bool danlu::emu::in_device_allocation(const void* p, size_t bytes) {
  return inside(memory().device, p, bytes);
}

namespace {

using danlu::emu::in_device_allocation;

bool in_pinned_allocation(const void* p, size_t bytes) { return inside(memory().host, p, bytes); }

// Checks the device side(s) of a copy or memset.
bool valid_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return true;
  if (!dst || !src) return false;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  return (!dst_device || in_device_allocation(dst, bytes)) &&
         (!src_device || in_device_allocation(src, bytes));
}

size_t physical_bytes(int which) {
  return static_cast<size_t>(sysconf(which)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::atomic<size_t> device_memory_cap{0};  // 0: the host's physical memory

size_t device_memory_bytes() {
  const size_t cap = device_memory_cap.load();
  return cap ? cap : physical_bytes(_SC_PHYS_PAGES);
}

}  // namespace

// Records a failure as the thread's last error, as the CUDA runtime does.
cudaError_t danlu::emu::fail(cudaError_t error) {
  last_error = error;
  return error;
}

using danlu::emu::blocking_call;
using danlu::emu::fail;

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  using namespace danlu::emu;
  if (!prop) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "danlu CUDA emulator (host CPU, sm_%d%d limits)",
                kComputeMajor, kComputeMinor);
  prop->totalGlobalMem = device_memory_bytes();
  prop->sharedMemPerBlock = kDefaultSharedPerBlock;
  prop->warpSize = kWarpSize;
  prop->maxThreadsPerBlock = static_cast<int>(kMaxThreadsPerBlock);
  for (int d = 0; d < 3; ++d) {
    prop->maxThreadsDim[d] = static_cast<int>(kMaxBlockDim[d]);
    prop->maxGridSize[d] = static_cast<int>(kMaxGridDim[d]);
  }
  prop->major = kComputeMajor;
  prop->minor = kComputeMinor;
  prop->multiProcessorCount = kMultiprocessors;
  prop->maxThreadsPerMultiProcessor = kMaxThreadsPerMultiprocessor;
  prop->sharedMemPerMultiprocessor = kSharedPerMultiprocessor;
  prop->sharedMemPerBlockOptin = kMaxSharedPerBlockOptin;
  prop->memoryPoolsSupported = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  using namespace danlu::emu;
  if (!value) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = kMaxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = kMaxBlockDim[0]; break;
    case cudaDevAttrMaxBlockDimY: *value = kMaxBlockDim[1]; break;
    case cudaDevAttrMaxBlockDimZ: *value = kMaxBlockDim[2]; break;
    case cudaDevAttrMaxGridDimX: *value = static_cast<int>(kMaxGridDim[0]); break;
    case cudaDevAttrMaxGridDimY: *value = kMaxGridDim[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = kMaxGridDim[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = kDefaultSharedPerBlock; break;
    case cudaDevAttrWarpSize: *value = kWarpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = kMultiprocessors; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = kMaxThreadsPerMultiprocessor; break;
    case cudaDevAttrComputeCapabilityMajor: *value = kComputeMajor; break;
    case cudaDevAttrComputeCapabilityMinor: *value = kComputeMinor; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = kSharedPerMultiprocessor; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = kMaxSharedPerBlockOptin; break;
    case cudaDevAttrMemoryPoolsSupported: *value = 1; break;
    case cudaDevAttrClockRate: *value = kClockKhz; break;
    case cudaDevAttrMemoryClockRate: *value = kMemoryClockKhz; break;
    case cudaDevAttrL2CacheSize: *value = kL2CacheBytes; break;
    default: return fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return blocking_call(); }
cudaError_t cudaDeviceReset() { return cudaSuccess; }

cudaError_t cudaDriverGetVersion(int* version) {
  if (!version) return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) { return cudaDriverGetVersion(version); }

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return fail(cudaErrorInvalidValue);
  *total_bytes = device_memory_bytes();
  Memory& m = memory();
  std::lock_guard lock(m.mutex);
  const unsigned long long used = m.used;
  *free_bytes = std::min<size_t>(physical_bytes(_SC_AVPHYS_PAGES),
                                 used < *total_bytes ? *total_bytes - used : 0);
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return last_error; }

#define DANLU_EMU_ERRORS(X)                                                              \
  X(cudaSuccess, "no error")                                                             \
  X(cudaErrorInvalidValue, "invalid argument")                                           \
  X(cudaErrorMemoryAllocation, "out of memory")                                          \
  X(cudaErrorInitializationError, "initialization error")                                \
  X(cudaErrorInvalidConfiguration, "invalid configuration argument")                     \
  X(cudaErrorInvalidDevicePointer, "invalid device pointer")                             \
  X(cudaErrorInsufficientDriver, "CUDA driver version is insufficient for CUDA runtime version") \
  X(cudaErrorNoDevice, "no CUDA-capable device is detected")                             \
  X(cudaErrorInvalidDevice, "invalid device ordinal")                                    \
  X(cudaErrorInvalidResourceHandle, "invalid resource handle")                           \
  X(cudaErrorNotReady, "device not ready")                                               \
  X(cudaErrorLaunchFailure, "unspecified launch failure")                                \
  X(cudaErrorNotSupported, "operation not supported")                                    \
  X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing") \
  X(cudaErrorStreamCaptureInvalidated, "operation failed due to a previous error during capture") \
  X(cudaErrorStreamCaptureImplicit, "operation would make the legacy stream depend on a capturing blocking stream") \
  X(cudaErrorStreamCaptureWrongThread, "attempt to terminate a thread-local capture sequence from another thread") \
  X(cudaErrorUnknown, "unknown error")

const char* cudaGetErrorString(cudaError_t error) {
#define DANLU_EMU_STRING(code, text) \
  case code: return text;
  switch (error) { DANLU_EMU_ERRORS(DANLU_EMU_STRING) }
#undef DANLU_EMU_STRING
  return "unrecognized error code";
}

const char* cudaGetErrorName(cudaError_t error) {
#define DANLU_EMU_NAME(code, text) \
  case code: return #code;
  switch (error) { DANLU_EMU_ERRORS(DANLU_EMU_NAME) }
#undef DANLU_EMU_NAME
  return "cudaErrorUnknown";
}

namespace {
cudaError_t device_malloc(void** ptr, size_t bytes) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  // More than the device has left fails as on a GPU, before the host
  // allocator (which under AddressSanitizer aborts instead of returning null).
  Memory& m = memory();
  std::lock_guard lock(m.mutex);
  const size_t capacity = device_memory_bytes();
  if (bytes > capacity || m.used > capacity - bytes) return fail(cudaErrorMemoryAllocation);
  if (posix_memalign(ptr, kAllocationAlignment, bytes) != 0) {
    *ptr = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  m.device[static_cast<const char*>(*ptr)] = bytes;
  m.used += bytes;
  if (m.used > m.peak) m.peak = m.used;
  return cudaSuccess;
}

cudaError_t device_free(void* ptr) {
  if (!ptr) return cudaSuccess;
  Memory& m = memory();
  {
    std::lock_guard lock(m.mutex);
    auto it = m.device.find(static_cast<const char*>(ptr));
    if (it == m.device.end()) return fail(cudaErrorInvalidValue);
    m.used -= it->second;
    m.device.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (cudaError_t e = blocking_call()) return e;
  return device_malloc(ptr, bytes);
}

cudaError_t cudaFree(void* ptr) {
  if (cudaError_t e = blocking_call()) return e;
  return device_free(ptr);
}

// A capturing stream refuses stream-ordered allocation: the emulator does not
// model a graph's memory nodes (danlu allocates a captured step's memory
// before the capture, train/step_graph.h).
cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t stream) {
  if (danlu::emu::is_capturing(stream))
    return danlu::emu::refuse_in_capture(stream, cudaErrorStreamCaptureUnsupported);
  return device_malloc(ptr, bytes);
}

cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  if (danlu::emu::is_capturing(stream))
    return danlu::emu::refuse_in_capture(stream, cudaErrorStreamCaptureUnsupported);
  return device_free(ptr);
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned int) {
  if (cudaError_t e = blocking_call()) return e;
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes > physical_bytes(_SC_PHYS_PAGES)) return fail(cudaErrorMemoryAllocation);
  if (posix_memalign(ptr, kAllocationAlignment, bytes ? bytes : 1) != 0) {
    *ptr = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  Memory& m = memory();
  std::lock_guard lock(m.mutex);
  m.host[static_cast<const char*>(*ptr)] = bytes;
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault);
}

cudaError_t cudaFreeHost(void* ptr) {
  if (cudaError_t e = blocking_call()) return e;
  if (!ptr) return cudaSuccess;
  Memory& m = memory();
  {
    std::lock_guard lock(m.mutex);
    if (m.host.erase(static_cast<const char*>(ptr)) == 0) return fail(cudaErrorInvalidValue);
  }
  std::free(ptr);
  return cudaSuccess;
}

namespace {
cudaError_t copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (!valid_copy(dst, src, bytes, kind)) return fail(cudaErrorInvalidValue);
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t set(void* ptr, int value, size_t bytes) {
  if (bytes && !in_device_allocation(ptr, bytes)) return fail(cudaErrorInvalidValue);
  if (bytes) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

// A copy enqueued on `stream`: checked now, done when the stream gets to it.
// A captured copy reads its host side at every launch of the graph, so the
// host side must be pinned memory that lives as long (the emulator refuses
// pageable memory there, which on a GPU would be a host temporary baked into
// the graph).
cudaError_t copy_async(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                       cudaStream_t stream) {
  if (!valid_copy(dst, src, bytes, kind)) return fail(cudaErrorInvalidValue);
  const void* host = kind == cudaMemcpyHostToDevice ? src
                     : kind == cudaMemcpyDeviceToHost ? dst
                                                      : nullptr;
  if (bytes && host && danlu::emu::is_capturing(stream) && !in_pinned_allocation(host, bytes))
    return danlu::emu::refuse_in_capture(stream, cudaErrorStreamCaptureUnsupported);
  return danlu::emu::submit(stream, [=] { copy(dst, src, bytes, kind); });
}
}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t e = blocking_call()) return e;
  return copy(dst, src, bytes, kind);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return copy_async(dst, src, bytes, kind, stream);
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device,
                                size_t bytes, cudaStream_t stream) {
  if (dst_device != 0 || src_device != 0) return fail(cudaErrorInvalidDevice);
  return copy_async(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (cudaError_t e = blocking_call()) return e;
  return set(ptr, value, bytes);
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  if (bytes && !in_device_allocation(ptr, bytes)) return fail(cudaErrorInvalidValue);
  return danlu::emu::submit(stream, [=] { set(ptr, value, bytes); });
}

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  if (!pool) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *pool = &memory().pool;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetMemPool(cudaMemPool_t* pool, int device) {
  return cudaDeviceGetDefaultMemPool(pool, device);
}

// The pool keeps nothing: reserved memory is exactly the memory in use.
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  if (!pool || !value) return fail(cudaErrorInvalidValue);
  Memory& m = memory();
  std::lock_guard lock(m.mutex);
  const auto v = *static_cast<unsigned long long*>(value);
  switch (attr) {
    case cudaMemPoolAttrReleaseThreshold: pool->release_threshold = v; return cudaSuccess;
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemHigh:
      if (v != 0) return fail(cudaErrorInvalidValue);  // only a reset to 0 is allowed
      m.peak = m.used;
      return cudaSuccess;
    default: return fail(cudaErrorInvalidValue);
  }
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  if (!pool || !value) return fail(cudaErrorInvalidValue);
  Memory& m = memory();
  std::lock_guard lock(m.mutex);
  auto* out = static_cast<unsigned long long*>(value);
  switch (attr) {
    case cudaMemPoolAttrReleaseThreshold: *out = pool->release_threshold; return cudaSuccess;
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrUsedMemCurrent: *out = m.used; return cudaSuccess;
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemHigh: *out = m.peak; return cudaSuccess;
  }
  return fail(cudaErrorInvalidValue);
}

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t) {
  return pool ? cudaSuccess : fail(cudaErrorInvalidValue);
}

void danlu::emu::set_device_memory(size_t bytes) { device_memory_cap.store(bytes); }

