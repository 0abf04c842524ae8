// Runs one block of a launch: one fiber per CUDA thread, resumed round-robin
// in thread order (in reverse with DANLU_EMULATOR_ORDER=reverse, so that a
// race between two threads shows up whichever of them writes first). A thread
// runs until it returns or reaches __syncthreads() or a warp collective; a
// barrier opens when every thread of the block waits at it, a collective
// completes when every lane of its mask that has not returned waits at it
// with the same mask. When nothing can run any more but some threads still
// wait, the block is deadlocked and the launch fails with a description of
// who waits where.
#pragma once

#include <deque>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "kernels/emulated/builtins.h"
#include "kernels/emulated/fiber.h"
#include "kernels/emulated/launch.h"

namespace danlu::emu {

// "kernels/x.cu:12" for a call site (the path from the repository's kernels/
// or tests/ folder on).
std::string where(std::source_location site);

class Scheduler {
 public:
  // The one scheduler: launches are serialised (run_grid holds a lock).
  static Scheduler& instance();

  // Runs every thread of block `block_idx` to completion; throws danlu::Error
  // (naming `kernel` and the block) on a deadlock or a misused collective.
  void run_block(const char* kernel, KernelBody body, dim3 grid, dim3 block, uint3 block_idx,
                 unsigned char* dynamic_shared, size_t dynamic_shared_bytes);

  // Called by the current thread's fiber (builtins.h).
  int barrier(int predicate, std::source_location site);
  WarpValue warp_collective(WarpOp op, unsigned mask, unsigned long long bits, int arg, int width,
                            std::source_location site);
  unsigned char* dynamic_shared() const { return dynamic_shared_; }
  // Fails the running thread, and with it the launch, with `message` as it
  // is; the shared-memory detectors (shared_checks.cpp) report through it.
  [[noreturn]] void fail_thread(std::string message);
  // The same, with the thread's index in front of `message`.
  [[noreturn]] void fail_current(std::string message);
  // The running thread (x + blockDim.x * (y + blockDim.y * z)); -1 between threads.
  int current_thread() const { return current_; }

 private:
  enum class Status : unsigned char { ready, at_barrier, at_warp, exited, failed };

  struct Thread {
    Status status = Status::ready;
    std::source_location site;
    int predicate = 0;  // barrier: what this thread contributes
    int barrier_result = 0;
    WarpOp op = WarpOp::syncwarp;
    unsigned mask = 0;
    int arg = 0;
    int width = 0;
    unsigned long long bits = 0;
    WarpValue result{};
    std::string failure;
  };

  Scheduler();
  static void fiber_main(void* index);
  // Makes `ascending` runnable, in order or reversed.
  void enqueue(const std::vector<int>& ascending);
  [[noreturn]] void fail_block(const std::string& message);
  void release_barrier();
  void try_complete_warp(int thread);
  void complete_warp(int base, unsigned participants);
  void complete_mma(int base, unsigned participants);
  unsigned live_lanes(int base) const;
  std::string describe_wait(int thread) const;
  std::string describe_deadlock() const;

  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<bool> needs_restart_;
  std::vector<Thread> threads_;
  std::deque<int> ready_;
  std::vector<int> batch_;  // threads made runnable together
  bool reverse_ = false;
  int current_ = -1;
  int at_barrier_ = 0;
  int exited_ = 0;
  const char* kernel_ = nullptr;
  KernelBody body_{};
  unsigned char* dynamic_shared_ = nullptr;
};

}  // namespace danlu::emu
