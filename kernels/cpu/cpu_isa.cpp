#include "kernels/cpu/cpu_isa.h"

#include <cstdlib>
#include <string>

#include "engine/error.h"

namespace danlu::kernels::cpu {

namespace {

CpuIsa pick_isa() {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char* env = std::getenv("DANLU_CPU_ISA");
  const std::string want = env && *env ? env : "auto";
  const std::string isa = want != "auto" ? want : avx512 ? "avx512" : avx2 ? "avx2" : "sse2";
  DANLU_CHECK(isa == "avx512" || isa == "avx2" || isa == "sse2", "DANLU_CPU_ISA=", want,
              ": expected auto, avx512, avx2 or sse2");
  DANLU_CHECK(isa != "avx512" || avx512, "DANLU_CPU_ISA=avx512, but this CPU has no AVX-512F");
  DANLU_CHECK(isa != "avx2" || avx2, "DANLU_CPU_ISA=avx2, but this CPU has no AVX2 and FMA");
  if (isa == "avx512") return CpuIsa::avx512;
  if (isa == "avx2") return CpuIsa::avx2;
  return CpuIsa::sse2;
}

}  // namespace

CpuIsa cpu_isa() {
  static const CpuIsa isa = pick_isa();
  return isa;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::avx512: return "avx512";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::sse2: return "sse2";
  }
  return "?";
}

}  // namespace danlu::kernels::cpu
