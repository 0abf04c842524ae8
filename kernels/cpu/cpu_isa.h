// The vector instruction set the CPU kernels written with GCC vector
// extensions run (the built-in GEMM's micro-kernel, the direct convolution).
// Each such kernel is compiled once per instruction set with a target
// attribute, so the build needs no -march flag; this picks one at run time:
// the widest the CPU has, or the one DANLU_CPU_ISA names (avx512, avx2,
// sse2; unset or "auto" picks the widest), so that one machine can test
// each. An ISA the CPU lacks is a one-line error.
#pragma once

namespace danlu::kernels::cpu {

enum class CpuIsa { sse2, avx2, avx512 };

// Read once per process (the first call checks DANLU_CPU_ISA).
CpuIsa cpu_isa();
const char* cpu_isa_name(CpuIsa isa);

}  // namespace danlu::kernels::cpu
