// GEMM: row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or
// X^T. The CPU path calls OpenBLAS (cblas), opened at first use, or the
// built-in blocked GEMM when OpenBLAS is absent or DANLU_GEMM=builtin; the
// CUDA path calls cuBLAS. On the CPU all threads are OpenMP's
// (OMP_NUM_THREADS): OpenBLAS runs serially, and danlu splits a large product
// into one block of C per thread.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/stream.h"

namespace danlu::kernels::cpu {

// A is (M, K) after op, B is (K, N) after op, C is (M, N); lda/ldb/ldc are
// the row strides of the matrices as stored.
// k == 0 or alpha == 0 only scales C; beta == 0 does not read C. Which
// library runs is decided at the first call (or gemm_description()) from
// DANLU_GEMM: unset or "auto" (OpenBLAS when it loads, else the built-in),
// "openblas" (an error when it cannot load) or "builtin".
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// c[i] = alpha * op(a[i]) . op(b[i]) + beta * c[i] for i < batch, the
// matrices spaced stride_a / stride_b / stride_c elements apart (as cuBLAS's
// strided-batched GEMM). Small products (attention's per-head scores) run
// one per OpenMP thread; large ones in turn, each threaded inside.
template <class T>
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                          const T* a, int64_t lda, int64_t stride_a, const T* b, int64_t ldb,
                          int64_t stride_b, T beta, T* c, int64_t ldc, int64_t stride_c,
                          int64_t batch);

// The two implementations behind gemm, callable directly (tests, benchmarks).
// gemm_openblas throws danlu::Error when OpenBLAS cannot be loaded.
template <class T>
void gemm_builtin(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                  const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);
template <class T>
void gemm_openblas(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                   const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// The built-in GEMM's micro-kernel on this CPU: instruction set and tile
// (rows x columns of C), e.g. "avx512 8x48".
template <class T>
std::string gemm_builtin_kernel();

// Which GEMM gemm runs, e.g. "OpenBLAS 0.3.21 (SkylakeX kernels)" or
// "built-in (blocked, OpenMP, 2 threads, avx512 8x48 f32 kernel): OpenBLAS
// not found at build time". Throws danlu::Error for a bad DANLU_GEMM.
std::string gemm_description();

// The name of the CPU kernels gemm runs: OpenBLAS's ("Haswell", ...) or the
// built-in GEMM's f32 micro-kernel ("avx512 8x48", ...).
std::string blas_core_name();

// Advice when the BLAS library runs generic kernels on a CPU that supports
// wider vectors (e.g. a user's OPENBLAS_CORETYPE asked for them); "" when
// there is nothing to do (always with the built-in GEMM, which picks its
// kernel from the CPU's features).
std::string blas_tuning_hint();

}  // namespace danlu::kernels::cpu

namespace danlu::kernels::cuda {

// As cpu::gemm, in f32 on `stream` through cuBLAS (row-major, so cuBLAS's
// column-major GEMM computes C^T = op(B)^T . op(A)^T on the same memory).
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc, Stream stream);

// `batch` GEMMs in one call: matrix i of A starts at a + i * stride_a, and so
// on for B and C (strides in elements).
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                          float alpha, const float* a, int64_t lda, int64_t stride_a,
                          const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                          int64_t ldc, int64_t stride_c, int64_t batch, Stream stream);

// Lets later GEMMs use TF32 tensor cores; danlu::set_allow_tf32 is the user's switch.
void set_gemm_tf32(bool allow);

}  // namespace danlu::kernels::cuda
