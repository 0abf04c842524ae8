// Streams are created at first use and never destroyed: they live as long as
// the process, and destroying them from static destructors would race the
// CUDA runtime's own teardown.
#include "engine/cuda_context.h"

#include <array>
#include <atomic>
#include <mutex>

#include "engine/error.h"

#ifdef DANLU_WITH_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda/check.h"
#include "kernels/cuda/event_wait.h"
#include "kernels/gemm.h"
#endif

namespace danlu {

namespace {
std::atomic<bool> tf32_allowed{false};
}  // namespace

#ifdef DANLU_WITH_CUDA

namespace {

constexpr int kMaxDevices = 64;

// One lazily created stream per device; `create` runs once per device.
class StreamTable {
 public:
  kernels::Stream get(Device device) {
    DANLU_CHECK(device.is_cuda() && device.index >= 0 && device.index < kMaxDevices,
                "no CUDA stream for device ", device.str());
    kernels::Stream s = streams_[device.index].load(std::memory_order_acquire);
    if (s) return s;
    std::lock_guard lock(mutex_);
    s = streams_[device.index].load(std::memory_order_relaxed);
    if (!s) {
      CudaDeviceGuard guard(device);
      DANLU_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      streams_[device.index].store(s, std::memory_order_release);
    }
    return s;
  }

 private:
  std::mutex mutex_;
  std::array<std::atomic<kernels::Stream>, kMaxDevices> streams_{};
};

void make_current(Device device) {
  int current = -1;
  DANLU_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device.index) DANLU_CUDA_CHECK(cudaSetDevice(device.index));
}

}  // namespace

// The tables are never destroyed, so tensors freed by static destructors at
// exit still find their stream.
kernels::Stream compute_stream(Device device) {
  static StreamTable& table = *new StreamTable;
  kernels::Stream s = table.get(device);
  make_current(device);
  return s;
}

kernels::Stream copy_stream(Device device) {
  static StreamTable& table = *new StreamTable;
  return table.get(device);
}

CudaDeviceGuard::CudaDeviceGuard(Device device) {
  DANLU_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device.index) DANLU_CUDA_CHECK(cudaSetDevice(device.index));
}

CudaDeviceGuard::~CudaDeviceGuard() { cudaSetDevice(previous_); }

CudaEvent::CudaEvent(bool timing) {
  const unsigned flags = timing ? cudaEventDefault : cudaEventDisableTiming;
  DANLU_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags));
}

CudaEvent::~CudaEvent() {
  if (event_) cudaEventDestroy(event_);
}

CudaEvent::CudaEvent(CudaEvent&& other) noexcept : event_(other.event_) { other.event_ = nullptr; }

CudaEvent& CudaEvent::operator=(CudaEvent&& other) noexcept {
  if (this != &other) {
    if (event_) cudaEventDestroy(event_);
    event_ = other.event_;
    other.event_ = nullptr;
  }
  return *this;
}

void CudaEvent::record(kernels::Stream stream) { DANLU_CUDA_CHECK(cudaEventRecord(event_, stream)); }

void CudaEvent::make_wait(kernels::Stream stream) const {
  DANLU_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0));
}

void CudaEvent::synchronize() const { DANLU_CUDA_CHECK(cudaEventSynchronize(event_)); }

void CudaEvent::synchronize_if_pending() const { kernels::cuda::synchronize_if_pending(event_); }

float elapsed_ms(const CudaEvent& start, const CudaEvent& end) {
  float ms = 0;
  DANLU_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, end.event_));
  return ms;
}

void set_allow_tf32(bool allow) {
  tf32_allowed = allow;
  kernels::cuda::set_gemm_tf32(allow);
}

#else  // a CPU-only build: no tensor can live on a GPU, so none of this is reached

namespace {
[[noreturn]] void no_cuda(const char* what) {
  DANLU_FAIL(what, ": this build of danlu has no CUDA backend; use the cpu device");
}
}  // namespace

kernels::Stream compute_stream(Device) { return nullptr; }
kernels::Stream copy_stream(Device) { return nullptr; }
CudaDeviceGuard::CudaDeviceGuard(Device) { no_cuda("CudaDeviceGuard"); }
CudaDeviceGuard::~CudaDeviceGuard() = default;
CudaEvent::CudaEvent(bool) { no_cuda("CudaEvent"); }
CudaEvent::~CudaEvent() = default;
CudaEvent::CudaEvent(CudaEvent&&) noexcept = default;
CudaEvent& CudaEvent::operator=(CudaEvent&&) noexcept = default;
void CudaEvent::record(kernels::Stream) { no_cuda("CudaEvent::record"); }
void CudaEvent::make_wait(kernels::Stream) const { no_cuda("CudaEvent::make_wait"); }
void CudaEvent::synchronize() const { no_cuda("CudaEvent::synchronize"); }
float elapsed_ms(const CudaEvent&, const CudaEvent&) { no_cuda("elapsed_ms"); }
void set_allow_tf32(bool allow) { tf32_allowed = allow; }

#endif

bool allow_tf32() { return tf32_allowed; }

}  // namespace danlu
