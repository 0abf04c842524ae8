// The per-thread built-ins of kernel code in the emulated build: threadIdx
// and friends, __syncthreads and the warp collectives. The scheduler
// (scheduler.cpp) sets the index variables before it switches to a thread's
// fiber, and the collectives suspend the calling fiber until every thread
// they wait for has arrived, so they keep their GPU semantics.
#pragma once

#include <atomic>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "vector_types.h"

extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
constexpr int warpSize = 32;

namespace danlu::emu {

// mma: mma.sync.aligned.m16n8k8 (kernels/emulated/mma.h), whose `bits` point
// at the lane's fragments.
enum class WarpOp : unsigned char {
  syncwarp, shfl, shfl_up, shfl_down, shfl_xor, ballot, any, all, mma
};

// What a warp collective hands back to one lane; `defined` is false when the
// lane read a lane that was not taking part (the result is undefined on a GPU).
struct WarpValue {
  unsigned long long bits;
  bool defined;
};

// Waits until every thread of the block arrives; returns how many passed a
// nonzero predicate.
int barrier(int predicate, std::source_location site);
// Waits until every lane of `mask` that has not returned arrives, then
// computes the collective (shuffles read `bits`, votes read it as a bool).
WarpValue warp_collective(WarpOp op, unsigned mask, unsigned long long bits, int arg, int width,
                          std::source_location site);
// The launch's dynamic shared memory (DANLU_DYNAMIC_SHARED).
unsigned char* dynamic_shared();

// Other fibers run during a collective and may have written any memory the
// caller reads next, including block-local statics (__shared__): the compiler
// must not keep such values in registers across the call.
struct FiberSwitchFence {
  FiberSwitchFence() { std::atomic_signal_fence(std::memory_order_seq_cst); }
  ~FiberSwitchFence() { std::atomic_signal_fence(std::memory_order_seq_cst); }
};

template <class T>
T shuffle(WarpOp op, unsigned mask, T var, int arg, int width, std::source_location site) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                "warp shuffles move values of at most 8 bytes");
  unsigned long long bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  WarpValue got;
  {
    FiberSwitchFence fence;
    got = warp_collective(op, mask, bits, arg, width, site);
  }
  T out;
  if (got.defined) {
    std::memcpy(&out, &got.bits, sizeof(T));
  } else {
    std::memset(&out, 0xff, sizeof(T));  // NaN for floats: makes the bug visible
  }
  return out;
}

inline unsigned vote(WarpOp op, unsigned mask, int predicate, std::source_location site) {
  FiberSwitchFence fence;
  return static_cast<unsigned>(warp_collective(op, mask, predicate != 0, 0, warpSize, site).bits);
}

inline int block_barrier(int predicate, std::source_location site) {
  FiberSwitchFence fence;
  return barrier(predicate, site);
}

}  // namespace danlu::emu

// Each call's source location appears in deadlock reports.
inline void __syncthreads(std::source_location site = std::source_location::current()) {
  danlu::emu::block_barrier(0, site);
}
inline int __syncthreads_count(int predicate, std::source_location site = std::source_location::current()) {
  return danlu::emu::block_barrier(predicate != 0, site);
}
inline int __syncthreads_and(int predicate, std::source_location site = std::source_location::current()) {
  return danlu::emu::block_barrier(predicate != 0, site) ==
         static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
}
inline int __syncthreads_or(int predicate, std::source_location site = std::source_location::current()) {
  return danlu::emu::block_barrier(predicate != 0, site) != 0;
}

inline void __syncwarp(unsigned mask = 0xffffffffu,
                       std::source_location site = std::source_location::current()) {
  danlu::emu::vote(danlu::emu::WarpOp::syncwarp, mask, 0, site);
}

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
              std::source_location site = std::source_location::current()) {
  return danlu::emu::shuffle(danlu::emu::WarpOp::shfl, mask, var, src_lane, width, site);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 std::source_location site = std::source_location::current()) {
  return danlu::emu::shuffle(danlu::emu::WarpOp::shfl_up, mask, var, static_cast<int>(delta),
                             width, site);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   std::source_location site = std::source_location::current()) {
  return danlu::emu::shuffle(danlu::emu::WarpOp::shfl_down, mask, var, static_cast<int>(delta),
                             width, site);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                  std::source_location site = std::source_location::current()) {
  return danlu::emu::shuffle(danlu::emu::WarpOp::shfl_xor, mask, var, lane_mask, width, site);
}

inline unsigned __ballot_sync(unsigned mask, int predicate,
                              std::source_location site = std::source_location::current()) {
  return danlu::emu::vote(danlu::emu::WarpOp::ballot, mask, predicate, site);
}
inline int __any_sync(unsigned mask, int predicate,
                      std::source_location site = std::source_location::current()) {
  return static_cast<int>(danlu::emu::vote(danlu::emu::WarpOp::any, mask, predicate, site));
}
inline int __all_sync(unsigned mask, int predicate,
                      std::source_location site = std::source_location::current()) {
  return static_cast<int>(danlu::emu::vote(danlu::emu::WarpOp::all, mask, predicate, site));
}
