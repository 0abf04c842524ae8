// Host <-> GPU copies move through two pinned staging slots per device, in
// chunks: while the copy engine moves one chunk, the host fills (or drains)
// the other. A slot's event says when the copy engine is done with it.
#include "engine/cuda_copy.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>

#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "engine/error.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/check.h"
#endif

namespace danlu {

#ifdef DANLU_WITH_CUDA

namespace {

constexpr size_t kChunkBytes = size_t{4} << 20;  // large enough to run the copy engine at full speed

struct Slot {
  void* host = nullptr;
  CudaEvent done;  // recorded after the last copy that used `host`
};

// One device's staging slots; `mutex` serialises the copies that use them.
struct Staging {
  std::mutex mutex;
  std::array<Slot, 2> slots;
};

// Created at first use and never freed: freeing pinned memory at exit would
// race the CUDA runtime's teardown.
Staging& staging(Device device) {
  static std::mutex mutex;
  static std::array<Staging*, 64> table{};
  DANLU_CHECK(device.index < 64, "copy: danlu supports up to 64 devices, got ", device.str());
  std::lock_guard lock(mutex);
  Staging*& s = table[device.index];
  if (!s) {
    CudaDeviceGuard guard(device);  // the events belong to this device
    auto fresh = std::make_unique<Staging>();
    for (Slot& slot : fresh->slots) DANLU_CUDA_CHECK(cudaMallocHost(&slot.host, kChunkBytes));
    s = fresh.release();
  }
  return *s;
}

void host_to_device(void* dst, Device device, const void* src, size_t bytes) {
  kernels::Stream stream = compute_stream(device);
  Staging& st = staging(device);
  std::lock_guard lock(st.mutex);
  for (size_t offset = 0, i = 0; offset < bytes; offset += kChunkBytes, ++i) {
    const size_t n = std::min(kChunkBytes, bytes - offset);
    Slot& slot = st.slots[i % 2];
    slot.done.synchronize();  // the copy engine has finished reading this slot
    std::memcpy(slot.host, static_cast<const char*>(src) + offset, n);
    DANLU_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + offset, slot.host, n,
                                     cudaMemcpyHostToDevice, stream));
    slot.done.record(stream);
  }
}

void device_to_host(void* dst, const void* src, Device device, size_t bytes) {
  kernels::Stream stream = compute_stream(device);
  Staging& st = staging(device);
  std::lock_guard lock(st.mutex);
  const size_t chunks = (bytes + kChunkBytes - 1) / kChunkBytes;
  auto chunk_bytes = [&](size_t i) { return std::min(kChunkBytes, bytes - i * kChunkBytes); };
  // Enqueues chunk i into slot i % 2; that slot's previous chunk was drained
  // (or, if it was an upload, is ordered before this copy on the same stream).
  auto enqueue = [&](size_t i) {
    Slot& slot = st.slots[i % 2];
    DANLU_CUDA_CHECK(cudaMemcpyAsync(slot.host, static_cast<const char*>(src) + i * kChunkBytes,
                                     chunk_bytes(i), cudaMemcpyDeviceToHost, stream));
    slot.done.record(stream);
  };
  if (chunks > 0) enqueue(0);
  for (size_t i = 0; i < chunks; ++i) {
    if (i + 1 < chunks) enqueue(i + 1);
    Slot& slot = st.slots[i % 2];
    slot.done.synchronize();
    std::memcpy(static_cast<char*>(dst) + i * kChunkBytes, slot.host, chunk_bytes(i));
  }
}

// Between two GPUs the destination's stream waits for the source's pending
// work, and the source's stream waits for the copy, so neither side frees or
// overwrites memory the other still uses.
void device_to_device(void* dst, Device dst_device, const void* src, Device src_device,
                      size_t bytes) {
  kernels::Stream src_stream = compute_stream(src_device);
  kernels::Stream dst_stream = compute_stream(dst_device);
  if (dst_device == src_device) {
    DANLU_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, dst_stream));
    return;
  }
  {
    CudaDeviceGuard guard(src_device);
    CudaEvent source_ready;
    source_ready.record(src_stream);
    source_ready.make_wait(dst_stream);
  }
  DANLU_CUDA_CHECK(
      cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, bytes, dst_stream));
  CudaEvent copied;  // on dst_device, current since compute_stream(dst_device)
  copied.record(dst_stream);
  copied.make_wait(src_stream);
}

}  // namespace

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
  } else if (src_device.is_cpu()) {
    host_to_device(dst, dst_device, src, bytes);
  } else if (dst_device.is_cpu()) {
    device_to_host(dst, src, src_device, bytes);
  } else {
    device_to_device(dst, dst_device, src, src_device, bytes);
  }
}

#else  // a CPU-only build: no storage lives on a GPU

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (!dst_device.is_cpu()) require_cuda_device(dst_device, "copy");
  if (!src_device.is_cpu()) require_cuda_device(src_device, "copy");
  if (bytes) std::memcpy(dst, src, bytes);
}

#endif

}  // namespace danlu
