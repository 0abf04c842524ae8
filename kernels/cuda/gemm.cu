// Row-major GEMM on cuBLAS's column-major API. A row-major (rows, cols)
// matrix with row stride ld is, read column-major, its transpose with the same
// ld. So row-major C = op(A) . op(B) is column-major C^T = op(B)^T . op(A)^T:
// swap the operands and the sizes m and n, keep each operand's transpose flag.
// The _64 entry points take 64-bit sizes, so no size here is narrowed to int.
#include <algorithm>

#include "kernels/cuda/cublas.h"
#include "kernels/gemm.h"

namespace danlu::kernels::cuda {

namespace {

cublasOperation_t op(bool transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

// cuBLAS rejects a leading dimension of 0 even when the matrix is empty (k == 0).
int64_t ld(int64_t v) { return std::max<int64_t>(v, 1); }

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc, Stream stream) {
  if (m == 0 || n == 0) return;
  DANLU_CUBLAS_CHECK(cublasSgemm_64(cublas_handle(stream), op(trans_b), op(trans_a), n, m, k,
                                    &alpha, b, ld(ldb), a, ld(lda), &beta, c, ld(ldc)));
}

void gemm_strided_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                          float alpha, const float* a, int64_t lda, int64_t stride_a,
                          const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                          int64_t ldc, int64_t stride_c, int64_t batch, Stream stream) {
  if (m == 0 || n == 0 || batch == 0) return;
  DANLU_CUBLAS_CHECK(cublasSgemmStridedBatched_64(
      cublas_handle(stream), op(trans_b), op(trans_a), n, m, k, &alpha, b, ld(ldb), stride_b, a,
      ld(lda), stride_a, &beta, c, ld(ldc), stride_c, batch));
}

}  // namespace danlu::kernels::cuda
