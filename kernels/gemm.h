// GEMM: row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or
// X^T. The CPU path calls OpenBLAS (cblas); the CUDA path will call cuBLAS.
#pragma once

#include <cstdint>
#include <string>

namespace danlu::kernels::cpu {

// A is (M, K) after op, B is (K, N) after op, C is (M, N); lda/ldb/ldc are
// the row strides of the matrices as stored.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// The BLAS library's name for the CPU kernels it chose ("Haswell", ...).
std::string blas_core_name();

// Advice when the BLAS library runs generic kernels on a CPU that supports
// wider vectors (an OpenBLAS older than the CPU falls back to its SSE3
// "Prescott" kernels, 2-3x slower); "" when there is nothing to do.
std::string blas_tuning_hint();

}  // namespace danlu::kernels::cpu
