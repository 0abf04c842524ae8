// The shared-memory detectors of the emulated build, in the manner of
// compute-sanitizer's racecheck and initcheck:
// - a race: two threads of a block touch the same shared byte in one barrier
//   interval, at least one of them writing, and no warp collective of their
//   warp orders the two accesses;
// - an uninitialised read: a thread reads a shared byte that no thread of the
//   current block has written;
// - an access to shared bytes that a cp.async copy (kernels/cuda/async_copy.cuh)
//   has yet to land: the copy writes them at some moment between its issue
//   and the wait_group that retires it, so nothing may touch them in between.
// Kernel translation units are compiled with the compiler's thread-sanitizer
// instrumentation, whose calls (tsan_hooks.cpp) land in check_access(); the
// scheduler tells the detectors where each block, barrier interval and warp
// collective begins. See docs/emulation.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace danlu::emu::checks {

// Atomics never race with each other; an update (or atomic load) of memory
// the block has not written is still an uninitialised read.
// copy_issue and copy_land are a cp.async's write (copy_issued, copy_landed).
enum class Kind : unsigned char { read, write, atomic_update, atomic_store, copy_issue, copy_land };

// The address ranges the instrumentation hooks test every access against;
// both empty while no block runs, so host code pays two compares per access.
struct Ranges {
  uintptr_t static_begin = 0;   // the launching thread's block of thread_locals,
  uintptr_t static_size = 0;    // which holds every __shared__ variable
  uintptr_t dynamic_begin = 0;  // DANLU_DYNAMIC_SHARED
  uintptr_t dynamic_size = 0;
};
extern Ranges ranges;

// Whether the detectors run (DANLU_EMULATOR_CHECKS, read once).
bool enabled();

// Called by the scheduler: a block of `threads` threads starts with this
// dynamic shared memory; it ends (normally or not); thread `thread` runs
// next; a barrier opened; lanes `participants` of the warp starting at
// thread `base` completed a collective.
void begin_block(int threads, unsigned char* dynamic_shared, size_t dynamic_bytes);
void end_block();
void set_thread(int thread);
void barrier();
void warp_sync(int base, unsigned participants);

// The slow path of an instrumented access that falls inside shared memory.
void check_access(uintptr_t address, size_t size, Kind kind);

// A cp.async of the running thread (async_copy.cpp): issued into
// [address, address + size), which counts as written by that thread in the
// current barrier interval (so that an unordered access by another thread
// is a race) but not yet as initialised, and is in flight until it lands
// (written again, now in the interval of the wait that retires it).
void copy_issued(const void* address, size_t size);
void copy_landed(const void* address, size_t size);

// The fast path, inlined into every hook.
inline void access(const volatile void* pointer, size_t size, Kind kind) {
  const auto a = reinterpret_cast<uintptr_t>(pointer);
  if (a - ranges.static_begin < ranges.static_size || a - ranges.dynamic_begin < ranges.dynamic_size)
    check_access(a, size, kind);
}

}  // namespace danlu::emu::checks
