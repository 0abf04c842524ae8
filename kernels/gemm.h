// GEMM: row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or
// X^T. The CPU path calls OpenBLAS (cblas); the CUDA path will call cuBLAS.
#pragma once

#include <cstdint>

namespace danlu::kernels::cpu {

// A is (M, K) after op, B is (K, N) after op, C is (M, N); lda/ldb/ldc are
// the row strides of the matrices as stored.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace danlu::kernels::cpu
