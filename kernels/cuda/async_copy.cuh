// cp.async (sm_80+): copies from global to shared memory that run while the
// thread goes on, for multi-stage pipelines. The emulated build models them
// (kernels/emulated/async_copy.h, docs/emulation.md); nvcc gets inline PTX.
//
// A thread's copies are in flight until its wait retires them:
//   cp_async_16(dst, src);    // issue (dst in shared, src in global memory)
//   cp_async_commit();        // the copies issued since the last commit form a group
//   cp_async_wait<N>();       // waits until at most N of this thread's groups are in flight
//   __syncthreads();          // only now may other threads read what this thread copied
// A copy's destination must not be read or written by anyone until then.
// Addresses must be aligned to the copy's size. The _zfill variants read only
// the first `src_bytes` bytes of the source (0 to the copy's size) and fill
// the rest of the destination with zeros, which pads a tile's border.
#pragma once

#include <cuda_runtime.h>

#ifdef DANLU_EMULATED
#include <source_location>

#include "kernels/emulated/async_copy.h"
#endif

namespace danlu::kernels::cuda {

#ifdef DANLU_EMULATED

inline void cp_async_16(void* smem, const void* gmem,
                        std::source_location site = std::source_location::current()) {
  danlu::emu::cp_async(smem, gmem, 16, 16, site);
}
inline void cp_async_16_zfill(void* smem, const void* gmem, int src_bytes,
                              std::source_location site = std::source_location::current()) {
  danlu::emu::cp_async(smem, gmem, 16, src_bytes, site);
}
inline void cp_async_4(void* smem, const void* gmem,
                       std::source_location site = std::source_location::current()) {
  danlu::emu::cp_async(smem, gmem, 4, 4, site);
}
inline void cp_async_4_zfill(void* smem, const void* gmem, int src_bytes,
                             std::source_location site = std::source_location::current()) {
  danlu::emu::cp_async(smem, gmem, 4, src_bytes, site);
}
inline void cp_async_commit() { danlu::emu::cp_async_commit(); }
template <int N>
inline void cp_async_wait() {
  static_assert(N >= 0, "cp.async.wait_group takes a count of groups");
  danlu::emu::cp_async_wait(N);
}
// cp.async.wait_all: commit, then wait for every group.
inline void cp_async_wait_all() {
  danlu::emu::cp_async_commit();
  danlu::emu::cp_async_wait(0);
}

#else

// The 16-byte copies bypass L1 (.cg): a staged tile is read from shared memory.
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_16_zfill(void* smem, const void* gmem, int src_bytes) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem),
               "r"(src_bytes)
               : "memory");
}
// .cg takes only 16 bytes; 4-byte copies go through L1 (.ca).
__device__ __forceinline__ void cp_async_4(void* smem, const void* gmem) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(dst), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_4_zfill(void* smem, const void* gmem, int src_bytes) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(gmem),
               "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  static_assert(N >= 0, "cp.async.wait_group takes a count of groups");
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;\n" ::: "memory");
}

#endif

}  // namespace danlu::kernels::cuda
