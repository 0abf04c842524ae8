// CUDA's atomic functions in the emulated build. Each returns the old value,
// as on a GPU. Threads are fibers that switch only at collectives, so an
// update is never interleaved with another thread's; std::atomic_ref keeps
// the code correct for any host thread that touches the same memory.
#pragma once

#include <atomic>
#include <type_traits>

namespace danlu::emu {

// Replaces *address by update(*address) atomically; returns the old value.
template <class T, class F>
T atomic_update(T* address, F update) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load(std::memory_order_relaxed);
  while (!ref.compare_exchange_weak(old, update(old), std::memory_order_relaxed)) {
  }
  return old;
}

}  // namespace danlu::emu

#define DANLU_EMU_ATOMIC(name, T, expr)                                       \
  inline T name(T* address, T val) {                                          \
    return danlu::emu::atomic_update(address, [val](T old) { return expr; }); \
  }

DANLU_EMU_ATOMIC(atomicAdd, int, old + val)
DANLU_EMU_ATOMIC(atomicAdd, unsigned int, old + val)
DANLU_EMU_ATOMIC(atomicAdd, unsigned long long, old + val)
DANLU_EMU_ATOMIC(atomicAdd, float, old + val)
DANLU_EMU_ATOMIC(atomicAdd, double, old + val)
DANLU_EMU_ATOMIC(atomicSub, int, old - val)
DANLU_EMU_ATOMIC(atomicSub, unsigned int, old - val)
DANLU_EMU_ATOMIC(atomicMin, int, val < old ? val : old)
DANLU_EMU_ATOMIC(atomicMin, unsigned int, val < old ? val : old)
DANLU_EMU_ATOMIC(atomicMin, long long, val < old ? val : old)
DANLU_EMU_ATOMIC(atomicMin, unsigned long long, val < old ? val : old)
DANLU_EMU_ATOMIC(atomicMax, int, val > old ? val : old)
DANLU_EMU_ATOMIC(atomicMax, unsigned int, val > old ? val : old)
DANLU_EMU_ATOMIC(atomicMax, long long, val > old ? val : old)
DANLU_EMU_ATOMIC(atomicMax, unsigned long long, val > old ? val : old)
DANLU_EMU_ATOMIC(atomicAnd, int, old & val)
DANLU_EMU_ATOMIC(atomicAnd, unsigned int, old & val)
DANLU_EMU_ATOMIC(atomicAnd, unsigned long long, old & val)
DANLU_EMU_ATOMIC(atomicOr, int, old | val)
DANLU_EMU_ATOMIC(atomicOr, unsigned int, old | val)
DANLU_EMU_ATOMIC(atomicOr, unsigned long long, old | val)
DANLU_EMU_ATOMIC(atomicXor, int, old ^ val)
DANLU_EMU_ATOMIC(atomicXor, unsigned int, old ^ val)
DANLU_EMU_ATOMIC(atomicXor, unsigned long long, old ^ val)
// Wrapping counters: inc wraps to 0 past val, dec wraps to val below 0.
DANLU_EMU_ATOMIC(atomicInc, unsigned int, old >= val ? 0u : old + 1)
DANLU_EMU_ATOMIC(atomicDec, unsigned int, (old == 0 || old > val) ? val : old - 1)

#undef DANLU_EMU_ATOMIC

// Stores `val` when *address == compare; returns the old value either way.
#define DANLU_EMU_ATOMIC_CAS(T)                                              \
  inline T atomicCAS(T* address, T compare, T val) {                         \
    return danlu::emu::atomic_update(                                        \
        address, [compare, val](T old) { return old == compare ? val : old; }); \
  }
DANLU_EMU_ATOMIC_CAS(int)
DANLU_EMU_ATOMIC_CAS(unsigned int)
DANLU_EMU_ATOMIC_CAS(unsigned long long)
DANLU_EMU_ATOMIC_CAS(unsigned short)
#undef DANLU_EMU_ATOMIC_CAS

template <class T>
T atomicExch(T* address, T val) {
  static_assert(std::is_same_v<T, int> || std::is_same_v<T, unsigned int> ||
                    std::is_same_v<T, unsigned long long> || std::is_same_v<T, float>,
                "CUDA has atomicExch for int, unsigned int, unsigned long long and float");
  return std::atomic_ref<T>(*address).exchange(val, std::memory_order_relaxed);
}

// Memory fences order this thread's writes for other threads; fibers switch
// only at collectives, so every write is already visible.
inline void __threadfence() {}
inline void __threadfence_block() {}
