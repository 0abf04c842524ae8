// Host memory for tensors, kept for reuse when freed, as the CUDA pool
// (cudaMallocAsync, engine/cuda_memory.h) does on a GPU. A training step
// frees and allocates the same sizes every step. Returned to the C library,
// a large block goes back to the OS (glibc serves it by mmap), and every
// page of the next one faults when first written: 10,000 faults per step of
// the Fashion CNN at batch 128, about a quarter of its step time on a
// virtual machine (docs/performance.md). The pool keeps freed blocks of at
// least kPooledBytes by exact size, up to a cap, and hands them out again.
#pragma once

#include <cstddef>
#include <cstdint>

namespace danlu {

// Host tensors are aligned so that BLAS and vectorised loops get aligned rows.
constexpr size_t kHostAlignment = 64;

// `bytes` (a multiple of kHostAlignment, > 0) of aligned memory: a pooled block
// of that size if one is free, else a new one; nullptr when the machine has
// none even after the pool gave its blocks back.
void* host_pool_allocate(size_t bytes);
// Takes back a block from host_pool_allocate of that size.
void host_pool_free(void* p, size_t bytes) noexcept;

// The bytes of freed blocks the pool holds, and giving them all back.
uint64_t host_pool_cached_bytes();
void host_pool_release_cached() noexcept;

}  // namespace danlu
