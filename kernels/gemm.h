// GEMM: row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or
// X^T. The CPU path calls OpenBLAS (cblas), opened at first use; the CUDA
// path will call cuBLAS.
#pragma once

#include <cstdint>
#include <string>

namespace danlu::kernels::cpu {

// A is (M, K) after op, B is (K, N) after op, C is (M, N); lda/ldb/ldc are
// the row strides of the matrices as stored.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// Runs a pthreads OpenBLAS single-threaded for its scope, so that GEMMs called
// by OpenMP threads do not each wake BLAS's own threads. (An OpenMP OpenBLAS
// already runs serially inside a parallel region, and its thread setter would
// also change OpenMP's, so it is left alone.)
class SerialBlas {
 public:
  SerialBlas();
  ~SerialBlas();
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int saved_;
};

// The BLAS library's name for the CPU kernels it chose ("Haswell", ...).
std::string blas_core_name();

// Advice when the BLAS library runs generic kernels on a CPU that supports
// wider vectors (e.g. a user's OPENBLAS_CORETYPE asked for them); "" when
// there is nothing to do.
std::string blas_tuning_hint();

}  // namespace danlu::kernels::cpu
