// Host allocations are 64-byte aligned so that BLAS and vectorised loops get
// aligned rows. Device allocations belong to the CUDA backend.
#include "engine/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "engine/error.h"

namespace danlu {

namespace {
constexpr size_t kHostAlignment = 64;

// glibc serves blocks above its mmap threshold with a fresh mmap and unmaps
// them on free, so every activation of every step would be page-faulted and
// zeroed by the kernel again (a third of a CPU training step). Raising the
// threshold to glibc's maximum (32 MiB) and disabling trimming keeps freed
// activations in the heap for the next step to reuse.
bool configure_host_allocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);
  return true;
}
}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  DANLU_CHECK(device.is_cpu(), "tensor on ", device.str(),
              ": this build keeps tensors on the CPU only; run with --device cpu");
  static const bool configured = configure_host_allocator();
  (void)configured;
  size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* p = rounded ? std::aligned_alloc(kHostAlignment, rounded) : nullptr;
  DANLU_CHECK(p || rounded == 0, "out of host memory allocating ", bytes,
              " bytes; try a smaller batch size");
  return std::shared_ptr<Storage>(new Storage(p, bytes, device));
}

Storage::~Storage() { std::free(data_); }

}  // namespace danlu
