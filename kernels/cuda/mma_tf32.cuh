// TF32 tensor cores (sm_80+): mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32,
// D (16x8, f32) = A (16x8, tf32) * B (8x8, tf32) + C (16x8, f32), computed
// by one warp together: every lane of the warp must execute the same call.
// The emulated build runs it as a warp collective (kernels/emulated/mma.h,
// docs/emulation.md); nvcc gets inline PTX.
//
// Which lane holds which element, from the PTX ISA's "Matrix Fragments for
// mma.m16n8k8" (.tf32 A and B, .f32 C and D), with lane = threadIdx.x % 32,
// g = lane / 4 (groupID) and t = lane % 4 (threadID_in_group); A is m x k,
// B is k x n, C and D are m x n:
//
//   register   a[i]              b[i]          c[i] and d[i]
//   0          A[g    ][t    ]   B[t    ][g]   C[g    ][2t    ]
//   1          A[g + 8][t    ]   B[t + 4][g]   C[g    ][2t + 1]
//   2          A[g    ][t + 4]                 C[g + 8][2t    ]
//   3          A[g + 8][t + 4]                 C[g + 8][2t + 1]
//
// A and B registers hold TF32 values in f32 bit patterns. to_tf32 rounds an
// f32 to the nearest TF32 value (ties away from zero); a register that was
// not rounded is truncated by the tensor core, which ignores the low 13
// mantissa bits.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#ifdef DANLU_EMULATED
#include <source_location>

#include "kernels/emulated/mma.h"
#endif

namespace danlu::kernels::cuda {

#ifdef DANLU_EMULATED

// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa
// bits (adding half of the dropped range carries into the exponent when it
// must, up to infinity past the largest TF32 value); infinities stay, and a
// NaN stays a NaN (here the canonical 0x7fffffff, whose TF32 bits are a NaN
// too).
inline uint32_t to_tf32(float x) {
  const uint32_t bits = __float_as_uint(x);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fffffffu;
  if ((bits & 0x7f800000u) == 0x7f800000u) return bits;
  return (bits + 0x1000u) & 0xffffe000u;
}

inline void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2],
                             const float c[4],
                             std::source_location site = std::source_location::current()) {
  danlu::emu::mma_m16n8k8_tf32(d, a, b, c, site);
}

#else

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ void mma_m16n8k8_tf32(float d[4], const uint32_t a[4],
                                                 const uint32_t b[2], const float c[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]),
        "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

#endif

}  // namespace danlu::kernels::cuda
