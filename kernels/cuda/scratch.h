// Scratch memory for one call of a kernel family (partial sums, a cuDNN
// workspace): device memory on the current device, usable by the work the
// call enqueues on that device's compute stream, and given back in that
// stream's order when the Scratch goes out of scope. It is tensor memory
// (engine/storage.h), so inside a CUDA Graph capture it comes from the
// capture's arena like every other allocation of the captured step.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "engine/storage.h"
#include "kernels/cuda/check.h"

namespace danlu::kernels::cuda {

class Scratch {
 public:
  explicit Scratch(size_t bytes) {
    int device = 0;
    DANLU_CUDA_CHECK(cudaGetDevice(&device));
    if (bytes) storage_ = Storage::allocate(bytes, Device::cuda(device));
  }
  template <class T = void>
  T* data() const {
    return storage_ ? static_cast<T*>(storage_->data()) : nullptr;
  }

 private:
  std::shared_ptr<Storage> storage_;
};

}  // namespace danlu::kernels::cuda
