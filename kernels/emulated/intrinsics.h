// CUDA's device math and bit intrinsics for the emulated build. The fast
// approximate ones (__expf, __fdividef, ...) are computed exactly here, so an
// emulated result can be closer to the CPU reference than a GPU's: parity
// tolerances are set for the GPU. Standard functions (expf, fmaxf, erff, ...)
// come from <math.h> as on a GPU.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

namespace danlu::emu {

template <class To, class From>
To bit_cast_value(From from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

// The value of x as it is, opaque to the optimiser: nvcc never fuses the
// _rn intrinsics into a multiply-add, so a product or sum they make must not
// be contracted here either (DANLU_EMULATOR_FMA compiles kernels with
// -ffp-contract=fast).
template <class T>
inline T rounded(T x) {
#if defined(__x86_64__)
  asm("" : "+x"(x));
#elif defined(__aarch64__)
  asm("" : "+w"(x));
#else
  volatile T v = x;
  x = v;
#endif
  return x;
}

}  // namespace danlu::emu

inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return powf(10.0f, x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fadd_rn(float x, float y) { return danlu::emu::rounded(x + y); }
inline float __fsub_rn(float x, float y) { return danlu::emu::rounded(x - y); }
inline float __fmul_rn(float x, float y) { return danlu::emu::rounded(x * y); }
inline float __fdiv_rn(float x, float y) { return x / y; }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline double __dadd_rn(double x, double y) { return danlu::emu::rounded(x + y); }
inline double __dmul_rn(double x, double y) { return danlu::emu::rounded(x * y); }
inline double __fma_rn(double x, double y, double z) { return fma(x, y, z); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
// Clamps to [0, 1]; NaN becomes 0.
inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; }
// P(N(0,1) <= x), which a GPU has as a library function.
inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }

inline unsigned int __float_as_uint(float x) { return danlu::emu::bit_cast_value<unsigned int>(x); }
inline float __uint_as_float(unsigned int x) { return danlu::emu::bit_cast_value<float>(x); }
inline int __float_as_int(float x) { return danlu::emu::bit_cast_value<int>(x); }
inline float __int_as_float(int x) { return danlu::emu::bit_cast_value<float>(x); }
inline long long __double_as_longlong(double x) { return danlu::emu::bit_cast_value<long long>(x); }
inline double __longlong_as_double(long long x) { return danlu::emu::bit_cast_value<double>(x); }

// Float -> int conversions with an explicit rounding mode.
inline int __float2int_rn(float x) { return static_cast<int>(nearbyintf(x)); }
inline int __float2int_rz(float x) { return static_cast<int>(truncf(x)); }
inline int __float2int_rd(float x) { return static_cast<int>(floorf(x)); }
inline int __float2int_ru(float x) { return static_cast<int>(ceilf(x)); }
inline unsigned int __float2uint_rn(float x) { return static_cast<unsigned int>(nearbyintf(x)); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }
inline float __uint2float_rn(unsigned int x) { return static_cast<float>(x); }

inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned int>(x)); }
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
// 1-based position of the lowest set bit; 0 for 0.
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  unsigned int r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}

// Read-only cached load: a plain load here.
template <class T>
T __ldg(const T* p) {
  return *p;
}

// CUDA's global min/max overloads for device code.
#define DANLU_EMU_MINMAX(T)                          \
  inline T min(T a, T b) { return b < a ? b : a; } \
  inline T max(T a, T b) { return a < b ? b : a; }
DANLU_EMU_MINMAX(int)
DANLU_EMU_MINMAX(unsigned int)
DANLU_EMU_MINMAX(long)
DANLU_EMU_MINMAX(unsigned long)
DANLU_EMU_MINMAX(long long)
DANLU_EMU_MINMAX(unsigned long long)
#undef DANLU_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
