// GEMM on the CPU through OpenBLAS's cblas interface.
//
// OpenBLAS is opened with dlopen at first use instead of being linked. An
// OpenBLAS built with DYNAMIC_ARCH (as Debian ships it) picks its kernels from
// the CPU model when it initialises, and a model newer than the library (e.g.
// Sapphire/Emerald Rapids under Debian 12's 0.3.21) gets the generic SSE3
// "Prescott" kernels, 2-3x slower. Loading it ourselves lets danlu first set
// OPENBLAS_CORETYPE from the CPU's features (AVX-512 F/BW/DQ/VL: SkylakeX,
// AVX2+FMA: Haswell), unless the user has set it.
#include "kernels/gemm.h"

#include <cblas.h>
#include <dlfcn.h>

#include <cstdlib>

#include "engine/error.h"

namespace danlu::kernels::cpu {

namespace {

struct OpenBlas {
  decltype(&cblas_sgemm) sgemm;
  decltype(&cblas_dgemm) dgemm;
  decltype(&openblas_get_corename) get_corename;
  decltype(&openblas_get_parallel) get_parallel;
  decltype(&openblas_get_num_threads) get_num_threads;
  decltype(&openblas_set_num_threads) set_num_threads;
};

void choose_core_from_cpu_features() {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  const char* core = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    core = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    core = "Haswell";
  if (core) setenv("OPENBLAS_CORETYPE", core, /*overwrite=*/0);
}

template <class F>
void resolve(void* lib, const char* name, F* fn) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  DANLU_CHECK(*fn, "OpenBLAS (", DANLU_OPENBLAS_LIBRARY, ") has no symbol ", name,
              "; reinstall libopenblas0");
}

OpenBlas load() {
  choose_core_from_cpu_features();
  void* lib = dlopen(DANLU_OPENBLAS_LIBRARY, RTLD_NOW | RTLD_GLOBAL);
  DANLU_CHECK(lib, "cannot load OpenBLAS: ", dlerror(),
              "; install it with apt-get install libopenblas0");
  OpenBlas api{};
  resolve(lib, "cblas_sgemm", &api.sgemm);
  resolve(lib, "cblas_dgemm", &api.dgemm);
  resolve(lib, "openblas_get_corename", &api.get_corename);
  resolve(lib, "openblas_get_parallel", &api.get_parallel);
  resolve(lib, "openblas_get_num_threads", &api.get_num_threads);
  resolve(lib, "openblas_set_num_threads", &api.set_num_threads);
  return api;
}

const OpenBlas& openblas() {
  static const OpenBlas api = load();
  return api;
}

CBLAS_TRANSPOSE trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  openblas().sgemm(CblasRowMajor, trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c,
                   ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                  const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                  double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  openblas().dgemm(CblasRowMajor, trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c,
                   ldc);
}

SerialBlas::SerialBlas()
    : saved_(openblas().get_parallel() == OPENBLAS_THREAD ? openblas().get_num_threads() : 1) {
  if (saved_ != 1) openblas().set_num_threads(1);
}

SerialBlas::~SerialBlas() {
  if (saved_ != 1) openblas().set_num_threads(saved_);
}

std::string blas_core_name() { return openblas().get_corename(); }

std::string blas_tuning_hint() {
  const std::string core = blas_core_name();
  if (core != "Prescott" && core != "Core2" && core != "Nehalem") return "";
  const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") ? "Haswell"
                                                        : nullptr;
  if (!better) return "";
  return "OpenBLAS runs its generic " + core + " kernels (OPENBLAS_CORETYPE=" +
         (std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "") +
         "); unset it or set OPENBLAS_CORETYPE=" + better + " for 2-3x faster CPU GEMM";
}

}  // namespace danlu::kernels::cpu
