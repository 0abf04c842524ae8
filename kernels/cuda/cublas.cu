// Handles are created once per device and never destroyed: destroying them
// from static destructors would race the CUDA runtime's own teardown. Each
// handle has its own workspace, set again after every cublasSetStream (which
// resets it): with it cuBLAS never allocates inside a call, so its GEMMs can
// be captured into a CUDA Graph (train/step_graph.h).
#include "kernels/cuda/cublas.h"

#include <array>
#include <atomic>
#include <mutex>

#include "engine/error.h"
#include "engine/sync_check.h"
#include "kernels/cuda/check.h"
#include "kernels/gemm.h"

namespace danlu::kernels::cuda {

namespace {

constexpr int kMaxDevices = 64;
std::atomic<bool> use_tf32{false};

// What cuBLAS asks for on Hopper (its documentation's cublasSetWorkspace);
// the emulated GEMM needs none.
#ifdef DANLU_EMULATED
constexpr size_t kWorkspaceBytes = 0;
#else
constexpr size_t kWorkspaceBytes = size_t(32) << 20;
#endif

struct Handle {
  cublasHandle_t handle = nullptr;
  void* workspace = nullptr;
};

const char* advice_for(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "cuBLAS could not start: check the driver and that libcublas matches the toolkit";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "a GEMM size or leading dimension is invalid: this is a bug in the caller";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "this GPU lacks a feature the call needs: rebuild for its architecture";
    default:
      return "run under compute-sanitizer to find the faulting call";
  }
}

}  // namespace

void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfMemory(detail::concat(call, " failed at ", file, ":", line, ": the GPU is out of memory"));
  DANLU_FAIL(call, " failed at ", file, ":", line, ": ", cublasGetStatusName(status), " (",
             advice_for(status), ")");
}

void set_gemm_tf32(bool allow) { use_tf32 = allow; }

cublasHandle_t cublas_handle(Stream stream) {
  count_kernel_launch();  // every cuBLAS call asks for its handle once
  static std::mutex mutex;
  static std::array<Handle, kMaxDevices> handles{};
  int device = 0;
  DANLU_CUDA_CHECK(cudaGetDevice(&device));
  DANLU_CHECK(device < kMaxDevices, "cuBLAS: device ", device, " is beyond the ", kMaxDevices,
              " devices danlu supports");
  Handle h;
  {
    std::lock_guard lock(mutex);
    Handle& slot = handles[device];
    if (!slot.handle) {
      DANLU_CUBLAS_CHECK(cublasCreate(&slot.handle));
      if (kWorkspaceBytes) DANLU_CUDA_CHECK(cudaMalloc(&slot.workspace, kWorkspaceBytes));
    }
    h = slot;
  }
  cublasHandle_t handle = h.handle;
  DANLU_CUBLAS_CHECK(cublasSetStream(handle, stream));
  DANLU_CUBLAS_CHECK(cublasSetWorkspace(handle, h.workspace, kWorkspaceBytes));
  DANLU_CUBLAS_CHECK(
      cublasSetMathMode(handle, use_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return handle;
}

}  // namespace danlu::kernels::cuda
