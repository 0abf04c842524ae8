// How every CUDA kernel of danlu is launched and every CUDA runtime call is
// checked. Kernels are started only through launch(), never with <<<...>>>
// elsewhere, so one function decides how a kernel runs (and a build that runs
// kernels without a GPU only has to replace it).
//
// Rules for kernel code, so that the same source also builds for emulation:
// - static shared memory is declared `__shared__ T name[...]` inside the kernel;
//   dynamic shared memory only through DANLU_DYNAMIC_SHARED(T, name);
// - warp collectives with explicit masks (__shfl_xor_sync, __shfl_down_sync,
//   __ballot_sync, ...), __syncthreads, atomicAdd/atomicMax, the usual math
//   functions (expf, logf, tanhf, erff, rsqrtf, fmaxf, ...);
// - no CUB, cooperative groups, wmma or textures; inline PTX only through the
//   wrappers that the emulator models (async_copy.cuh: cp.async;
//   mma_tf32.cuh: TF32 mma.sync).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "engine/sync_check.h"
#include "kernels/cuda/check.h"
#include "kernels/stream.h"

#ifdef DANLU_EMULATED  // kernels run on the CPU: see docs/emulation.md
#include "kernels/emulated/launch.h"
#endif

// Dynamic shared memory (the launch's shared_bytes), viewed as T[].
#ifdef DANLU_EMULATED
#define DANLU_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::danlu::emu::dynamic_shared())
#else
#define DANLU_DYNAMIC_SHARED(T, name)                                      \
  extern __shared__ __align__(16) unsigned char danlu_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(danlu_dynamic_shared_)
#endif

namespace danlu::kernels::cuda {

// Blocks needed to cover n items with `per_block` items per block.
inline unsigned blocks_for(int64_t n, int64_t per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}

// Runs kernel<<<grid, block, shared_bytes, stream>>>(args...) and checks that
// the launch was accepted; `name` appears in the error.
template <class... Params, class... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
            size_t shared_bytes, Stream stream, Args&&... args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;  // nothing to do
  count_kernel_launch();
#ifdef DANLU_EMULATED
  // Emulated kernels finish inside the launch (every stream is in order), or
  // are recorded when the stream is capturing.
  ::danlu::emu::launch_kernel(name, kernel, grid, block, shared_bytes, stream,
                              std::forward<Args>(args)...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#endif
  check_cuda(cudaGetLastError(), name, __FILE__, __LINE__);
}

}  // namespace danlu::kernels::cuda
