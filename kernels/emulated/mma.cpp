// The arithmetic of mma.sync.m16n8k8 with TF32 inputs (mma.h), over a
// warp's fragments laid out as the PTX ISA's "Matrix Fragments for
// mma.m16n8k8" (.tf32) places them; kernels/cuda/mma_tf32.cuh has the table.
#include "kernels/emulated/mma.h"

#include <cmath>
#include <cstring>

namespace danlu::emu {

namespace {

constexpr int kM = 16, kN = 8, kK = 8;

// The value a tensor core sees: the sign, exponent and top 10 mantissa bits.
// A NaN stays a NaN even when its payload lay only in the ignored bits.
double tf32_operand(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  if (std::isnan(f)) return f;
  const uint32_t kept = bits & 0xffffe000u;
  std::memcpy(&f, &kept, sizeof f);
  return f;
}

}  // namespace

void mma_m16n8k8_tf32_warp(MmaTf32Fragments* const lanes[32]) {
  double a[kM][kK], b[kK][kN], c[kM][kN];
  for (int lane = 0; lane < 32; ++lane) {
    const MmaTf32Fragments& f = *lanes[lane];
    const int g = lane / 4, t = lane % 4;  // groupID, threadID_in_group
    a[g][t] = tf32_operand(f.a[0]);
    a[g + 8][t] = tf32_operand(f.a[1]);
    a[g][t + 4] = tf32_operand(f.a[2]);
    a[g + 8][t + 4] = tf32_operand(f.a[3]);
    b[t][g] = tf32_operand(f.b[0]);
    b[t + 4][g] = tf32_operand(f.b[1]);
    c[g][2 * t] = f.c[0];
    c[g][2 * t + 1] = f.c[1];
    c[g + 8][2 * t] = f.c[2];
    c[g + 8][2 * t + 1] = f.c[3];
  }
  for (int lane = 0; lane < 32; ++lane) {
    MmaTf32Fragments& f = *lanes[lane];
    const int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      const int m = g + 8 * (i / 2), n = 2 * t + i % 2;
      // Products of two 11-bit significands are exact in double; so is
      // their sum unless the exponents lie far apart.
      double sum = c[m][n];
      for (int k = 0; k < kK; ++k) sum += a[m][k] * b[k][n];
      f.d[i] = static_cast<float>(sum);
    }
  }
}

}  // namespace danlu::emu
