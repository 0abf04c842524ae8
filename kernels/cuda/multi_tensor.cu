// The table upload of multi-tensor apply: rows and chunk references written
// into a pinned host buffer, copied asynchronously to a device buffer on the
// launch's stream. Both buffers only grow, so a training run allocates them
// on its first step.
#include "kernels/cuda/multi_tensor.cuh"

#include <algorithm>
#include <cstring>

#include "kernels/cuda/check.h"
#include "kernels/cuda/event_wait.h"

namespace danlu::kernels::cuda {

struct FusedTable::Impl {
  void* host = nullptr;
  size_t host_bytes = 0;
  void* device = nullptr;
  size_t device_bytes = 0;
  Stream stream = nullptr;          // the stream `device` was allocated and copied on
  cudaEvent_t copied = nullptr;     // recorded after the last copy out of `host`
  bool copy_in_flight = false;

  // Blocks until the last copy out of `host` has finished; that copy was
  // queued a launch (usually a step) ago, so it has almost always run.
  void wait_for_copy() {
    if (!copy_in_flight) return;
    synchronize_if_pending(copied);
    copy_in_flight = false;
  }

  // Frees everything (a destructor cannot throw, and at process exit the
  // driver may already be gone, so failures are ignored here).
  void release() noexcept {
    if (copied) {
      if (copy_in_flight) cudaEventSynchronize(copied);
      cudaEventDestroy(copied);
    }
    if (device) cudaFreeAsync(device, stream);
    if (host) cudaFreeHost(host);
    *this = Impl();
  }
};

FusedTable::FusedTable() : impl_(std::make_unique<Impl>()) {}
FusedTable::~FusedTable() { impl_->release(); }

Table upload(FusedTable& table, const std::vector<Row>& rows, Stream stream) {
  if (rows.empty()) return {nullptr, nullptr, 0};
  FusedTable::Impl& t = table.impl();
  if (t.device && t.stream != stream) t.release();  // the group moved to another stream or GPU

  std::vector<ChunkRef> chunks;
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t c = 0; c * kChunk < rows[r].n; ++c)
      chunks.push_back({static_cast<int32_t>(r), static_cast<int32_t>(c)});
  const size_t row_bytes = rows.size() * sizeof(Row);
  const size_t bytes = row_bytes + chunks.size() * sizeof(ChunkRef);

  t.wait_for_copy();
  if (t.host_bytes < bytes) {
    if (t.host) DANLU_CUDA_CHECK(cudaFreeHost(t.host));
    t.host = nullptr;
    t.host_bytes = 0;
    DANLU_CUDA_CHECK(cudaMallocHost(&t.host, bytes));
    t.host_bytes = bytes;
  }
  std::memcpy(t.host, rows.data(), row_bytes);
  std::memcpy(static_cast<char*>(t.host) + row_bytes, chunks.data(),
              chunks.size() * sizeof(ChunkRef));

  if (t.device_bytes < bytes) {
    if (t.device) DANLU_CUDA_CHECK(cudaFreeAsync(t.device, stream));
    t.device = nullptr;
    t.device_bytes = 0;
    DANLU_CUDA_CHECK(cudaMallocAsync(&t.device, bytes, stream));
    t.device_bytes = bytes;
  }
  t.stream = stream;
  DANLU_CUDA_CHECK(cudaMemcpyAsync(t.device, t.host, bytes, cudaMemcpyHostToDevice, stream));
  if (!t.copied) DANLU_CUDA_CHECK(cudaEventCreateWithFlags(&t.copied, cudaEventDisableTiming));
  DANLU_CUDA_CHECK(cudaEventRecord(t.copied, stream));
  t.copy_in_flight = true;

  const char* device = static_cast<const char*>(t.device);
  return {reinterpret_cast<const Row*>(device),
          reinterpret_cast<const ChunkRef*>(device + row_bytes),
          static_cast<int>(chunks.size())};
}

}  // namespace danlu::kernels::cuda
