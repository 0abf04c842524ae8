// GEMM on the CPU through OpenBLAS's cblas interface.
#include "kernels/gemm.h"

#include <cblas.h>

namespace danlu::kernels::cpu {

namespace {
CBLAS_TRANSPOSE trans(bool t) { return t ? CblasTrans : CblasNoTrans; }
}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                  const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                  double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string blas_core_name() { return openblas_get_corename(); }

std::string blas_tuning_hint() {
  const std::string core = blas_core_name();
  if (core != "Prescott" && core != "Core2" && core != "Nehalem") return "";
  const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") ? "Haswell"
                                                        : nullptr;
  if (!better) return "";
  return "OpenBLAS does not recognise this CPU and uses its generic " + core +
         " kernels; export OPENBLAS_CORETYPE=" + better + " for 2-3x faster CPU GEMM";
}

}  // namespace danlu::kernels::cpu
