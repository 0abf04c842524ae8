// DANLU_UNROLL before a loop whose trip count is a compile-time constant:
// nvcc unrolls it completely, so that arrays indexed by its counter (a warp
// tile's accumulators, a thread's copy slots) stay in registers instead of
// a stack frame. The emulated build runs the loop as written.
#pragma once

#ifdef DANLU_EMULATED
#define DANLU_UNROLL
#else
#define DANLU_UNROLL _Pragma("unroll")
#endif
