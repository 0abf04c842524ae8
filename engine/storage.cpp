// Host allocations come from the host pool (engine/host_pool.h), aligned for
// BLAS and vectorised loops. Device allocations come from the stream-ordered
// pool (engine/cuda_memory.h) and go back to it in stream order, or, during
// a CUDA Graph capture, from the capture's arena (engine/cuda_graph.h).
#include "engine/storage.h"

#include <cstdlib>
#include <new>

#include "engine/cuda_graph.h"
#include "engine/cuda_memory.h"
#include "engine/device_arena.h"
#include "engine/error.h"
#include "engine/host_memory.h"
#include "engine/host_pool.h"

namespace danlu {

namespace {
// A host allocation's size: whole kHostAlignment units.
size_t host_bytes(size_t bytes) {
  return (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
}
}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  if (device.is_cuda()) {
    require_cuda_device(device, "tensor");
    if (std::shared_ptr<DeviceArena> arena = capture_arena(device)) {
      void* p = arena->allocate(bytes);
      if (!p)
        throw CaptureRefused(detail::concat("the step needs more than the ",
                                            format_bytes(arena->capacity()),
                                            " reserved for its graph"),
                             true);
      return std::shared_ptr<Storage>(new Storage(p, bytes, device, std::move(arena)));
    }
    void* p = bytes ? cuda_allocate(bytes, device) : nullptr;
    return std::shared_ptr<Storage>(new Storage(p, bytes, device));
  }
  DANLU_CHECK(bytes <= (size_t(1) << 62), "out of host memory: a tensor of ", bytes,
              " bytes cannot exist; a size in the model or the data is corrupt");
  const size_t rounded = host_bytes(bytes);
  host_memory_acquire(bytes);
  void* p = rounded ? host_pool_allocate(rounded) : nullptr;
  if (!p && rounded) {
    host_memory_release(bytes);
    throw OutOfMemory(detail::concat("out of host memory: allocating ", format_bytes(bytes),
                                     " for one tensor failed"));
  }
  return std::shared_ptr<Storage>(new Storage(p, bytes, device));
}

Storage::~Storage() {
  if (arena_)
    arena_->release(data_);
  else if (device_.is_cuda())
    cuda_free(data_, device_);
  else {
    host_pool_free(data_, host_bytes(bytes_));
    host_memory_release(bytes_);
  }
}

}  // namespace danlu
