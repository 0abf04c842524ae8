// The counts of blocking CUDA runtime calls and of kernel launches (see sync_check.h).
#include "engine/sync_check.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(DANLU_EMULATED)
#include "kernels/emulated/blocking_calls.h"
#elif defined(DANLU_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace danlu {

namespace {
std::atomic<int64_t> g_kernel_launches{0};
}  // namespace

int64_t kernel_launches() { return g_kernel_launches.load(std::memory_order_relaxed); }
void count_kernel_launch() { g_kernel_launches.fetch_add(1, std::memory_order_relaxed); }

bool sync_check_enabled() {
  const char* v = std::getenv("DANLU_SYNC_CHECK");
  return v && std::strcmp(v, "1") == 0;
}

#if defined(DANLU_EMULATED)

int64_t blocking_cuda_calls() { return emu::blocking_calls(); }

#elif defined(DANLU_WITH_CUDA)

namespace {
std::atomic<int64_t> g_blocking_calls{0};
}  // namespace

int64_t blocking_cuda_calls() { return g_blocking_calls.load(); }

}  // namespace danlu

// The linker sends every call to these functions from danlu's objects to
// __wrap_<name> (CMakeLists.txt: -Wl,--wrap=<name>), and __real_<name> to
// the runtime's own.
#define DANLU_COUNTED(name, params, args)       \
  extern "C" cudaError_t __real_##name params;  \
  extern "C" cudaError_t __wrap_##name params { \
    ++danlu::g_blocking_calls;                  \
    return __real_##name args;                  \
  }

DANLU_COUNTED(cudaDeviceSynchronize, (), ())
DANLU_COUNTED(cudaStreamSynchronize, (cudaStream_t stream), (stream))
DANLU_COUNTED(cudaEventSynchronize, (cudaEvent_t event), (event))
DANLU_COUNTED(cudaMemcpy, (void* dst, const void* src, size_t bytes, cudaMemcpyKind kind),
              (dst, src, bytes, kind))
DANLU_COUNTED(cudaMemset, (void* ptr, int value, size_t bytes), (ptr, value, bytes))
DANLU_COUNTED(cudaMalloc, (void** ptr, size_t bytes), (ptr, bytes))
DANLU_COUNTED(cudaFree, (void* ptr), (ptr))
DANLU_COUNTED(cudaMallocHost, (void** ptr, size_t bytes), (ptr, bytes))
DANLU_COUNTED(cudaHostAlloc, (void** ptr, size_t bytes, unsigned int flags), (ptr, bytes, flags))
DANLU_COUNTED(cudaFreeHost, (void* ptr), (ptr))

namespace danlu {

#else  // a CPU-only build

int64_t blocking_cuda_calls() { return 0; }

#endif

}  // namespace danlu
