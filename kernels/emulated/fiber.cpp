// Fibers on ucontext. A guard page below each stack turns a stack overflow in
// a kernel into an immediate fault instead of silent corruption; the
// AddressSanitizer hooks tell ASan which stack is live after each switch.
#include "kernels/emulated/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "engine/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define DANLU_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DANLU_EMU_ASAN 1
#endif
#endif

#ifdef DANLU_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace danlu::emu {

namespace {

void start_switch(void** fake_stack_save, const void* bottom, size_t bytes) {
#ifdef DANLU_EMU_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, bytes);
#else
  (void)fake_stack_save, (void)bottom, (void)bytes;
#endif
}

void finish_switch(void* fake_stack_save, const void** bottom_old, size_t* bytes_old) {
#ifdef DANLU_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, bytes_old);
#else
  (void)fake_stack_save, (void)bottom_old, (void)bytes_old;
#endif
}

}  // namespace

Fiber::Fiber(size_t stack_bytes, void (*entry)(void*), void* arg) : entry_(entry), arg_(arg) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  stack_bytes_ = (stack_bytes + page - 1) / page * page;
  mapping_bytes_ = stack_bytes_ + page;
  void* p = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  DANLU_CHECK(p != MAP_FAILED, "CUDA emulator: cannot map a ", stack_bytes_,
              "-byte fiber stack (too many threads per block for this host's memory?)");
  mapping_ = static_cast<char*>(p);
  mprotect(mapping_, page, PROT_NONE);  // stacks grow down into the guard page
  stack_ = mapping_ + page;
  restart();
}

Fiber::~Fiber() { munmap(mapping_, mapping_bytes_); }

void Fiber::restart() {
#ifdef DANLU_EMU_ASAN
  // An abandoned kernel may have left redzones of its frames poisoned.
  __asan_unpoison_memory_region(stack_, stack_bytes_);
#endif
  getcontext(&context_);
  context_.uc_stack.ss_sp = stack_;
  context_.uc_stack.ss_size = stack_bytes_;
  context_.uc_link = nullptr;
  // makecontext passes int arguments only: the pointer travels in two halves.
  const auto self = reinterpret_cast<uintptr_t>(this);
  makecontext(&context_, reinterpret_cast<void (*)()>(&Fiber::trampoline), 2,
              static_cast<unsigned>(self >> 32), static_cast<unsigned>(self & 0xffffffffu));
}

void Fiber::trampoline(unsigned hi, unsigned lo) {
  auto* self = reinterpret_cast<Fiber*>((static_cast<uintptr_t>(hi) << 32) | lo);
  finish_switch(nullptr, &self->host_stack_, &self->host_stack_bytes_);
  self->entry_(self->arg_);
}

void Fiber::resume() {
  void* host_fake_stack = nullptr;
  start_switch(&host_fake_stack, stack_, stack_bytes_);
  swapcontext(&host_, &context_);
  finish_switch(host_fake_stack, nullptr, nullptr);
}

void Fiber::yield() {
  start_switch(&fake_stack_, host_stack_, host_stack_bytes_);
  swapcontext(&context_, &host_);
  finish_switch(fake_stack_, &host_stack_, &host_stack_bytes_);
}

}  // namespace danlu::emu
