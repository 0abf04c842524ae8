// The CUDA vector types for the emulated build (kernels/emulated): the same
// names, members and alignments as the toolkit's vector_types.h, so that
// `reinterpret_cast<const float4*>(p)` loads behave as on a GPU (and an
// unaligned one is caught by UBSan). may_alias: kernels view float arrays
// through float4 and friends, as CUDA code does.
#pragma once

#define DANLU_EMU_VECTOR2(T, name, align)                   \
  struct __attribute__((aligned(align), may_alias)) name { \
    T x, y;                                                 \
  };                                                        \
  inline name make_##name(T x, T y) { return name{x, y}; }
#define DANLU_EMU_VECTOR3(T, name)                            \
  struct __attribute__((may_alias)) name {                    \
    T x, y, z;                                                \
  };                                                          \
  inline name make_##name(T x, T y, T z) { return name{x, y, z}; }
#define DANLU_EMU_VECTOR4(T, name, align)                   \
  struct __attribute__((aligned(align), may_alias)) name { \
    T x, y, z, w;                                           \
  };                                                        \
  inline name make_##name(T x, T y, T z, T w) { return name{x, y, z, w}; }

DANLU_EMU_VECTOR2(float, float2, 8)
DANLU_EMU_VECTOR3(float, float3)
DANLU_EMU_VECTOR4(float, float4, 16)
DANLU_EMU_VECTOR2(int, int2, 8)
DANLU_EMU_VECTOR3(int, int3)
DANLU_EMU_VECTOR4(int, int4, 16)
DANLU_EMU_VECTOR2(unsigned int, uint2, 8)
DANLU_EMU_VECTOR3(unsigned int, uint3)
DANLU_EMU_VECTOR4(unsigned int, uint4, 16)
DANLU_EMU_VECTOR2(double, double2, 16)
DANLU_EMU_VECTOR4(unsigned char, uchar4, 4)
DANLU_EMU_VECTOR4(signed char, char4, 4)

#undef DANLU_EMU_VECTOR2
#undef DANLU_EMU_VECTOR3
#undef DANLU_EMU_VECTOR4

// Launch dimensions: unspecified sizes are 1.
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};
