// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 in the emulated build
// (kernels/cuda/mma_tf32.cuh): a warp collective. Each lane hands the
// scheduler a pointer to its fragments and waits; when all 32 lanes of the
// warp have arrived at the same call, the scheduler computes the whole
// 16x8 product from their fragments (mma.cpp) and every lane reads its part
// of D back.
#pragma once

#include <cstdint>
#include <source_location>

#include "kernels/emulated/builtins.h"

namespace danlu::emu {

// One lane's registers of the instruction (layouts in kernels/cuda/mma_tf32.cuh).
struct MmaTf32Fragments {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
  float d[4];
};

// D = A * B + C for one warp: reads every lane's a, b and c and writes every
// lane's d. Inputs keep only their TF32 bits (the low 13 mantissa bits are
// ignored, as the tensor cores ignore them); each element of D is the exact
// sum of its products and C, rounded once to f32.
void mma_m16n8k8_tf32_warp(MmaTf32Fragments* const lanes[32]);

inline void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2],
                             const float c[4], std::source_location site) {
  MmaTf32Fragments f{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}, {c[0], c[1], c[2], c[3]}, {}};
  {
    FiberSwitchFence fence;
    warp_collective(WarpOp::mma, 0xffffffffu, reinterpret_cast<uintptr_t>(&f), 0, warpSize, site);
  }
  for (int i = 0; i < 4; ++i) d[i] = f.d[i];
}

}  // namespace danlu::emu
