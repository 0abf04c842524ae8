// GEMM: row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or
// X^T. The CPU path calls OpenBLAS (cblas), opened at first use; the CUDA
// path calls cuBLAS.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/stream.h"

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
