// Each buffer owns pinned host memory for one batch and the event recorded
// after its copy. Device tensors are allocated on the compute stream (the
// pool's stream order), so the copy stream first waits for the allocation;
// they are freed on the compute stream too, after it has waited for the copy.
#include "engine/io/device_prefetch.h"

#include <cstring>

#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "engine/io/data_loader.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/check.h"
#endif

namespace danlu::io {

#ifdef DANLU_WITH_CUDA

struct DevicePrefetcher::Buffer {
  void* pinned = nullptr;  // images, then labels
  size_t capacity = 0;
  CudaEvent copied;  // recorded on the copy stream after this buffer's copy
  Batch batch;       // on the device; undefined once taken

  ~Buffer() {
    if (!pinned) return;
    copied.synchronize();
    cudaFreeHost(pinned);
  }

  // Room for `bytes` of pinned memory; only called once the last copy is done.
  void reserve(size_t bytes) {
    if (bytes <= capacity) return;
    if (pinned) DANLU_CUDA_CHECK(cudaFreeHost(pinned));
    pinned = nullptr;
    capacity = 0;
    DANLU_CUDA_CHECK(cudaMallocHost(&pinned, bytes));
    capacity = bytes;
  }
};

namespace {

size_t bytes_of(const Tensor& t) { return t.numel() * element_size(t.dtype()); }

}  // namespace

DevicePrefetcher::DevicePrefetcher(Device device) : device_(device) {
  require_cuda_device(device, "DataLoader");
  CudaDeviceGuard guard(device);  // the events belong to this device
  for (Buffer*& b : buffers_) b = new Buffer;
}

DevicePrefetcher::~DevicePrefetcher() {
  try {
    kernels::Stream compute = compute_stream(device_);
    for (Buffer* b : buffers_) {
      if (b->batch.images.defined()) b->copied.make_wait(compute);  // free after the copy
      delete b;
    }
  } catch (const Error&) {
    // Only a broken CUDA context fails here; the process is going down with it.
  }
}

void DevicePrefetcher::start(const Batch& host) {
  DANLU_CHECK(started_ - taken_ < buffers_.size(),
              "DevicePrefetcher: both buffers hold batches; take one first");
  Buffer& b = *buffers_[started_ % buffers_.size()];
  const size_t image_bytes = bytes_of(host.images), label_bytes = bytes_of(host.labels);
  b.copied.synchronize_if_pending();  // the copy engine is done reading the pinned memory
  b.reserve(image_bytes + label_bytes);
  std::memcpy(b.pinned, host.images.raw_data(), image_bytes);
  std::memcpy(static_cast<char*>(b.pinned) + image_bytes, host.labels.raw_data(), label_bytes);

  b.batch.images = Tensor::empty(host.images.shape(),
                                 TensorOptions(host.images.dtype()).device(device_));
  b.batch.labels = Tensor::empty(host.labels.shape(),
                                 TensorOptions(host.labels.dtype()).device(device_));
  kernels::Stream compute = compute_stream(device_), copy = copy_stream(device_);
  CudaEvent allocated;
  allocated.record(compute);
  allocated.make_wait(copy);
  DANLU_CUDA_CHECK(cudaMemcpyAsync(b.batch.images.raw_data(), b.pinned, image_bytes,
                                   cudaMemcpyHostToDevice, copy));
  DANLU_CUDA_CHECK(cudaMemcpyAsync(b.batch.labels.raw_data(),
                                   static_cast<char*>(b.pinned) + image_bytes, label_bytes,
                                   cudaMemcpyHostToDevice, copy));
  b.copied.record(copy);
  ++started_;
}

Batch DevicePrefetcher::take() {
  DANLU_CHECK(pending(), "DevicePrefetcher: no batch was started");
  Buffer& b = *buffers_[taken_ % buffers_.size()];
  b.copied.make_wait(compute_stream(device_));
  ++taken_;
  return std::move(b.batch);
}

#else  // a CPU-only build: batches cannot go to a GPU

struct DevicePrefetcher::Buffer {};

DevicePrefetcher::DevicePrefetcher(Device device) : device_(device) {
  require_cuda_device(device, "DataLoader");
}
DevicePrefetcher::~DevicePrefetcher() = default;
void DevicePrefetcher::start(const Batch&) { require_cuda_device(device_, "DataLoader"); }
Batch DevicePrefetcher::take() {
  require_cuda_device(device_, "DataLoader");
  return {};
}

#endif

}  // namespace danlu::io
