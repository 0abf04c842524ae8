// CUDA's declaration qualifiers for kernel source compiled by the host C++
// compiler. Functions are plain host functions; launch() runs a __global__
// one as every thread of the grid.
#pragma once

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

// One instance per block. All threads of a block are fibers of one host
// thread and the blocks of a launch run one after another (launches are
// serialised), so a function-local static is exactly one block's shared
// memory.
#if defined(DANLU_EMULATOR_CHECKS)
// With the shared-memory detectors (shared_checks.h), thread_local: then every
// __shared__ variable lies in the executable's block of thread_locals, which
// is how the detectors tell a shared access from any other by its address
// alone. (A named section would do too, but GCC refuses to put statics of
// template and of ordinary functions into one section.) What a block reads
// before any of its threads wrote it is reported, as a GPU leaves it undefined.
#define __shared__ static thread_local
#else
// Plain statics (not thread_local) so that AddressSanitizer puts redzones
// around them: an out-of-range shared access is reported. Their contents
// carry over from the previous block, which a GPU leaves undefined anyway.
#define __shared__ static
#endif
