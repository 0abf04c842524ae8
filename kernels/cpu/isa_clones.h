// Plain loops compiled for the CPU's vector width without -march: for a
// function FN (a template or inline function holding serial loops),
// DANLU_ISA_CLONES(NAME, FN) defines NAME_for_cpu(args...), which runs a copy
// of FN(args...) built for the instruction set cpu_isa() picks
// (kernels/cpu/cpu_isa.h): AVX-512, AVX2 or the SSE2 baseline. Each copy is
// FN inlined into a function with that target attribute, so GCC's
// auto-vectoriser uses the wide vectors there. Keep OpenMP out of FN: GCC
// outlines a parallel region before inlining, so the region's body would
// keep the baseline target. Parallelise in the caller, calling
// NAME_for_cpu per iteration (one switch on a value read once per process).
#pragma once

#include "kernels/cpu/cpu_isa.h"

#define DANLU_ISA_CLONES(NAME, FN)                                                          \
  template <class... Args>                                                                  \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"), flatten)) void           \
  NAME##_avx512(Args... args) {                                                             \
    FN(args...);                                                                            \
  }                                                                                         \
  template <class... Args>                                                                  \
  __attribute__((target("avx2,fma"), flatten)) void NAME##_avx2(Args... args) {             \
    FN(args...);                                                                            \
  }                                                                                         \
  template <class... Args>                                                                  \
  __attribute__((flatten)) void NAME##_sse2(Args... args) {                                 \
    FN(args...);                                                                            \
  }                                                                                         \
  template <class... Args>                                                                  \
  void NAME##_for_cpu(Args... args) {                                                       \
    switch (::danlu::kernels::cpu::cpu_isa()) {                                             \
      case ::danlu::kernels::cpu::CpuIsa::avx512: return NAME##_avx512(args...);           \
      case ::danlu::kernels::cpu::CpuIsa::avx2: return NAME##_avx2(args...);               \
      case ::danlu::kernels::cpu::CpuIsa::sse2: break;                                     \
    }                                                                                       \
    NAME##_sse2(args...);                                                                   \
  }
