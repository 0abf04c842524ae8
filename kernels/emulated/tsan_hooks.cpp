// The entry points that GCC's -fsanitize=thread instrumentation calls. Kernel
// translation units are compiled with it (CMakeLists.txt) but the thread
// sanitizer's runtime is not linked: these definitions take its place and
// hand each memory access to the shared-memory detectors (shared_checks.h).
// Everything else here only has to do what the uninstrumented code would
// have done: atomics are performed as asked, function entry/exit and vtable
// updates are ignored. This file itself is not instrumented.
#include <cstddef>
#include <cstdint>

#include "kernels/emulated/shared_checks.h"

namespace {

using danlu::emu::checks::access;
using danlu::emu::checks::Kind;

}  // namespace

extern "C" {

void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}

#define DANLU_TSAN_ACCESS(n)                                                                   \
  void __tsan_read##n(void* p) { access(p, n, Kind::read); }                                   \
  void __tsan_write##n(void* p) { access(p, n, Kind::write); }                                 \
  void __tsan_unaligned_read##n(void* p) { access(p, n, Kind::read); }                         \
  void __tsan_unaligned_write##n(void* p) { access(p, n, Kind::write); }                       \
  void __tsan_volatile_read##n(void* p) { access(p, n, Kind::read); }                          \
  void __tsan_volatile_write##n(void* p) { access(p, n, Kind::write); }                        \
  void __tsan_unaligned_volatile_read##n(void* p) { access(p, n, Kind::read); }                \
  void __tsan_unaligned_volatile_write##n(void* p) { access(p, n, Kind::write); }
DANLU_TSAN_ACCESS(1)
DANLU_TSAN_ACCESS(2)
DANLU_TSAN_ACCESS(4)
DANLU_TSAN_ACCESS(8)
DANLU_TSAN_ACCESS(16)
#undef DANLU_TSAN_ACCESS

void __tsan_read_range(void* p, size_t size) { access(p, size, Kind::read); }
void __tsan_write_range(void* p, size_t size) { access(p, size, Kind::write); }

// Atomics: the instrumented code calls these instead of performing the
// operation. They run sequentially consistent whatever order was asked for,
// which is always allowed. On shared memory they count as atomic accesses:
// never a race with each other, but reading memory this block has not written
// is still an uninitialised read.
#define DANLU_TSAN_ATOMIC(bits, T)                                                             \
  T __tsan_atomic##bits##_load(const volatile T* a, int) {                                     \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                               \
  }                                                                                            \
  void __tsan_atomic##bits##_store(volatile T* a, T v, int) {                                  \
    access(a, sizeof(T), Kind::atomic_store);                                                  \
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                                  \
  }                                                                                            \
  T __tsan_atomic##bits##_exchange(volatile T* a, T v, int) {                                  \
    access(a, sizeof(T), Kind::atomic_store);                                                  \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                        \
  }                                                                                            \
  T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {                                 \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                         \
  }                                                                                            \
  T __tsan_atomic##bits##_fetch_sub(volatile T* a, T v, int) {                                 \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                         \
  }                                                                                            \
  T __tsan_atomic##bits##_fetch_and(volatile T* a, T v, int) {                                 \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                         \
  }                                                                                            \
  T __tsan_atomic##bits##_fetch_or(volatile T* a, T v, int) {                                  \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                          \
  }                                                                                            \
  T __tsan_atomic##bits##_fetch_xor(volatile T* a, T v, int) {                                 \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                         \
  }                                                                                            \
  T __tsan_atomic##bits##_fetch_nand(volatile T* a, T v, int) {                                \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST);                                        \
  }                                                                                            \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* expected, T v, int, int) { \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_compare_exchange_n(a, expected, v, false, __ATOMIC_SEQ_CST,                \
                                       __ATOMIC_SEQ_CST);                                      \
  }                                                                                            \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* expected, T v, int, int) { \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    return __atomic_compare_exchange_n(a, expected, v, true, __ATOMIC_SEQ_CST,                 \
                                       __ATOMIC_SEQ_CST);                                      \
  }                                                                                            \
  T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T expected, T v, int, int) {     \
    access(a, sizeof(T), Kind::atomic_update);                                                        \
    __atomic_compare_exchange_n(a, &expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);   \
    return expected;                                                                           \
  }
DANLU_TSAN_ATOMIC(8, uint8_t)
DANLU_TSAN_ATOMIC(16, uint16_t)
DANLU_TSAN_ATOMIC(32, uint32_t)
DANLU_TSAN_ATOMIC(64, uint64_t)
#undef DANLU_TSAN_ATOMIC

void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

}  // extern "C"
