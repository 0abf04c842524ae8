// Host allocations are 64-byte aligned so that BLAS and vectorised loops get
// aligned rows. Device allocations belong to the CUDA backend.
#include "engine/storage.h"

#include <cstdlib>
#include <new>

#include "engine/error.h"

namespace danlu {

namespace {
constexpr size_t kHostAlignment = 64;
}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  DANLU_CHECK(device.is_cpu(), "tensor on ", device.str(),
              ": this build keeps tensors on the CPU only; run with --device cpu");
  size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* p = rounded ? std::aligned_alloc(kHostAlignment, rounded) : nullptr;
  DANLU_CHECK(p || rounded == 0, "out of host memory allocating ", bytes,
              " bytes; try a smaller batch size");
  return std::shared_ptr<Storage>(new Storage(p, bytes, device));
}

Storage::~Storage() { std::free(data_); }

}  // namespace danlu
