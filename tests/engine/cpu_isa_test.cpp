// The instruction set of the CPU kernels (the built-in GEMM's micro-kernel,
// the direct convolution) is the one DANLU_CPU_ISA names, or with it unset
// the widest the CPU has. tests/CMakeLists.txt runs this file, the
// GEMM's and the CPU convolution's tests again under DANLU_CPU_ISA=avx2, so
// a machine with AVX-512 tests both instruction-set paths.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/gemm.h"

namespace danlu::kernels {
namespace {

std::string expected_isa() {
  const char* env = std::getenv("DANLU_CPU_ISA");
  if (env && *env && std::string(env) != "auto") return env;
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "sse2";
}

TEST(CpuIsa, IsTheOneNamedOrTheWidest) {
  EXPECT_EQ(cpu::cpu_isa_name(cpu::cpu_isa()), expected_isa());
}

TEST(CpuIsa, BuiltinGemmRunsTheChosenMicroKernel) {
  const std::string isa = expected_isa();
  for (const std::string& kernel : {cpu::gemm_builtin_kernel<float>(),
                                    cpu::gemm_builtin_kernel<double>()})
    EXPECT_EQ(kernel.rfind(isa + " ", 0), 0u) << kernel << ", expected " << isa;
}

}  // namespace
}  // namespace danlu::kernels
