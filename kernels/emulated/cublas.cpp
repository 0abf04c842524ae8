// The emulated cuBLAS (include/cublas_v2.h) on the CPU GEMM. A column-major
// (rows, cols) matrix with leading dimension ld is, read row-major, its
// transpose: column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T,
// so each call swaps the operands and m with n and keeps the transpose flags.
#include <algorithm>

#include "kernels/emulated/capture.h"
#include "kernels/emulated/include/cublas_v2.h"
#include "kernels/gemm.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t mode = CUBLAS_DEFAULT_MATH;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

namespace {

// The argument checks cuBLAS makes: no negative size, and each leading
// dimension at least the stored rows of its (column-major) matrix, and >= 1.
bool valid(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
           int64_t lda, int64_t ldb, int64_t ldc) {
  const int64_t a_rows = ta == CUBLAS_OP_N ? m : k;
  const int64_t b_rows = tb == CUBLAS_OP_N ? k : n;
  return m >= 0 && n >= 0 && k >= 0 && lda >= std::max<int64_t>(1, a_rows) &&
         ldb >= std::max<int64_t>(1, b_rows) && ldc >= std::max<int64_t>(1, m);
}

void gemm(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
          float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc) {
  danlu::kernels::cpu::gemm<float>(tb == CUBLAS_OP_T, ta == CUBLAS_OP_T, n, m, k, alpha, b, ldb,
                                   a, lda, beta, c, ldc);
}

// `work` on the handle's stream; a stream that refuses it fails the call.
template <class Work>
cublasStatus_t on_stream(cublasHandle_t handle, Work work) {
  return danlu::emu::submit(handle->stream, work) == cudaSuccess ? CUBLAS_STATUS_SUCCESS
                                                                 : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, size_t bytes) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (bytes && !workspace) return CUBLAS_STATUS_INVALID_VALUE;
  handle->workspace = workspace;
  handle->workspace_bytes = bytes;
  return CUBLAS_STATUS_SUCCESS;
}

#define DANLU_EMU_CUBLAS_STATUSES(X)                              \
  X(CUBLAS_STATUS_SUCCESS, "success")                             \
  X(CUBLAS_STATUS_NOT_INITIALIZED, "the library was not initialized") \
  X(CUBLAS_STATUS_ALLOC_FAILED, "the resource allocation failed") \
  X(CUBLAS_STATUS_INVALID_VALUE, "an invalid numeric value was used as an argument") \
  X(CUBLAS_STATUS_ARCH_MISMATCH, "an absent device architectural feature is required") \
  X(CUBLAS_STATUS_EXECUTION_FAILED, "the GPU program failed to execute") \
  X(CUBLAS_STATUS_INTERNAL_ERROR, "an internal operation failed") \
  X(CUBLAS_STATUS_NOT_SUPPORTED, "the functionality requested is not supported")

const char* cublasGetStatusName(cublasStatus_t status) {
#define DANLU_EMU_NAME(code, text) \
  case code: return #code;
  switch (status) { DANLU_EMU_CUBLAS_STATUSES(DANLU_EMU_NAME) }
#undef DANLU_EMU_NAME
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
#define DANLU_EMU_STRING(code, text) \
  case code: return text;
  switch (status) { DANLU_EMU_CUBLAS_STATUSES(DANLU_EMU_STRING) }
#undef DANLU_EMU_STRING
  return "unknown error";
}

cublasStatus_t cublasSgemm_64(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                              const float* alpha, const float* A, int64_t lda, const float* B,
                              int64_t ldb, const float* beta, float* C, int64_t ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!alpha || !beta || !valid(transa, transb, m, n, k, lda, ldb, ldc))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  return on_stream(handle, [=, alpha = *alpha, beta = *beta] {
    gemm(transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  });
}

cublasStatus_t cublasSgemmStridedBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int64_t m, int64_t n,
                                            int64_t k, const float* alpha, const float* A,
                                            int64_t lda, long long strideA, const float* B,
                                            int64_t ldb, long long strideB, const float* beta,
                                            float* C, int64_t ldc, long long strideC,
                                            int64_t batchCount) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!alpha || !beta || batchCount < 0 || !valid(transa, transb, m, n, k, lda, ldb, ldc))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  return on_stream(handle, [=, alpha = *alpha, beta = *beta] {
    for (int64_t i = 0; i < batchCount; ++i)
      gemm(transa, transb, m, n, k, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta,
           C + i * strideC, ldc);
  });
}
