// Fibers. On x86-64 a switch saves the callee-saved registers on the current
// stack and swaps stack pointers (a few nanoseconds); elsewhere it falls back
// to ucontext, whose swapcontext also makes a signal-mask system call. A
// guard page below each stack turns a stack overflow in a kernel into an
// immediate fault instead of silent corruption; the AddressSanitizer hooks
// tell ASan which stack is live after each switch.
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

#if defined(__x86_64__)
// danlu_emu_switch(save, to): pushes the System V callee-saved state (rbp,
// rbx, r12-r15, MXCSR and the x87 control word), stores the stack pointer in
// *save, loads `to` and pops the same state from there. A new fiber's stack
// is prepared to "return" into danlu_emu_fiber_start, which calls r13(r12).
extern "C" void danlu_emu_switch(void** save, void* to);
extern "C" void danlu_emu_fiber_start();
asm(R"(
  .text
  .globl danlu_emu_switch
  .type danlu_emu_switch, @function
danlu_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw 12(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw 12(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size danlu_emu_switch, .-danlu_emu_switch

  .globl danlu_emu_fiber_start
  .type danlu_emu_fiber_start, @function
danlu_emu_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size danlu_emu_fiber_start, .-danlu_emu_fiber_start
)");
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

void Fiber::start(void* self_ptr) {
  auto* self = static_cast<Fiber*>(self_ptr);
  finish_switch(nullptr, &self->host_stack_, &self->host_stack_bytes_);
  self->entry_(self->arg_);
}

#if defined(__x86_64__)

void Fiber::restart() {
#ifdef DANLU_EMU_ASAN
  // An abandoned kernel may have left redzones of its frames poisoned.
  __asan_unpoison_memory_region(stack_, stack_bytes_);
#endif
  // The frame danlu_emu_switch pops, from the lowest address: MXCSR and x87
  // control word at their power-on defaults (round to nearest, exceptions
  // masked), r15, r14, r13 = start, r12 = this, rbx, rbp, the return address
  // danlu_emu_fiber_start, and a zero word that aligns start's frame as
  // after a call.
  auto* top = reinterpret_cast<uint64_t*>(stack_ + stack_bytes_);
  uint64_t* frame = top - 10;
  frame[0] = (uint64_t{0x037f} << 32) | 0x1f80;
  frame[1] = 0;                                          // r15
  frame[2] = 0;                                          // r14
  frame[3] = reinterpret_cast<uint64_t>(&Fiber::start);  // r13
  frame[4] = reinterpret_cast<uint64_t>(this);           // r12
  frame[5] = 0;                                          // rbx
  frame[6] = 0;                                          // rbp
  frame[7] = reinterpret_cast<uint64_t>(&danlu_emu_fiber_start);
  frame[8] = 0;
  frame[9] = 0;
  sp_ = frame - 1;  // danlu_emu_switch's 16-byte scratch area starts 8 bytes lower
}

void Fiber::resume() {
  void* host_fake_stack = nullptr;
  start_switch(&host_fake_stack, stack_, stack_bytes_);
  danlu_emu_switch(&host_sp_, sp_);
  finish_switch(host_fake_stack, nullptr, nullptr);
}

void Fiber::yield() {
  start_switch(&fake_stack_, host_stack_, host_stack_bytes_);
  danlu_emu_switch(&sp_, host_sp_);
  finish_switch(fake_stack_, &host_stack_, &host_stack_bytes_);
}

#else  // ucontext

void Fiber::restart() {
#ifdef DANLU_EMU_ASAN
  __asan_unpoison_memory_region(stack_, stack_bytes_);
#endif
  getcontext(&context_);
  context_.uc_stack.ss_sp = stack_;
  context_.uc_stack.ss_size = stack_bytes_;
  context_.uc_link = nullptr;
  // makecontext passes int arguments only: the pointer travels in two halves.
  const auto self = reinterpret_cast<uintptr_t>(this);
  makecontext(&context_, reinterpret_cast<void (*)()>(+[](unsigned hi, unsigned lo) {
                start(reinterpret_cast<void*>((static_cast<uintptr_t>(hi) << 32) | lo));
              }),
              2, static_cast<unsigned>(self >> 32), static_cast<unsigned>(self & 0xffffffffu));
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

#endif

}  // namespace danlu::emu
