// A fiber: a function running on its own stack that the host thread enters
// and leaves explicitly. The emulator runs each CUDA thread of a block as one
// fiber, so a thread can stop at __syncthreads() (or a warp collective) and
// let its siblings catch up, exactly where a GPU thread would wait.
#pragma once

#include <cstddef>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace danlu::emu {

class Fiber {
 public:
  // `entry(arg)` runs on the fiber's stack the first time it is resumed; it
  // must never return (it yields forever instead).
  Fiber(size_t stack_bytes, void (*entry)(void*), void* arg);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Starts the entry function again from the top on the next resume(): used
  // after a launch was abandoned with the fiber stopped in mid-kernel.
  void restart();
  // From the host thread: runs the fiber until it yields.
  void resume();
  // From inside the fiber: returns to the host thread's resume().
  void yield();

 private:
  static void start(void* self);

  void (*entry_)(void*);
  void* arg_;
  char* mapping_ = nullptr;  // guard page + stack
  size_t mapping_bytes_ = 0;
  char* stack_ = nullptr;
  size_t stack_bytes_ = 0;
#if defined(__x86_64__)
  // Saved stack pointers: callee-saved registers sit on top of each stack.
  void* sp_ = nullptr;
  void* host_sp_ = nullptr;
#else
  ucontext_t context_{};
  ucontext_t host_{};
#endif
  // AddressSanitizer's view of the stacks we switch between (unused without it).
  void* fake_stack_ = nullptr;
  const void* host_stack_ = nullptr;
  size_t host_stack_bytes_ = 0;
};

}  // namespace danlu::emu
