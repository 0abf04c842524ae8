// GEMM on the CPU: chooses between OpenBLAS and the built-in blocked GEMM
// (gemm_builtin.cpp), and loads OpenBLAS.
//
// OpenBLAS is opened with dlopen at first use instead of being linked, for
// two reasons. A machine without it (the build found none, or the library is
// missing at run time) still runs, on the built-in GEMM. And an OpenBLAS
// built with DYNAMIC_ARCH (as Debian ships it) picks its kernels from the CPU
// model when it initialises, and a model newer than the library (e.g.
// Sapphire/Emerald Rapids under Debian 12's 0.3.21) gets the generic SSE3
// "Prescott" kernels, 2-3x slower. Loading it ourselves lets danlu first set
// OPENBLAS_CORETYPE from the CPU's features (AVX-512 F/BW/DQ/VL: SkylakeX,
// AVX2+FMA: Haswell), unless the user has set it.
//
// The choice is made once per process, from DANLU_GEMM (see kernels/gemm.h).
#include <dlfcn.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "engine/error.h"
#include "kernels/gemm.h"

namespace danlu::kernels::cpu {

namespace {

// The cblas and OpenBLAS entry points danlu calls, declared here so that the
// build needs no OpenBLAS headers. The enums are cblas.h's values; blasint
// is int in the LP64 library that libopenblas.so is.
enum CblasOrder { kRowMajor = 101 };
enum CblasTranspose { kNoTrans = 111, kTrans = 112 };
constexpr int kOpenBlasPthreads = 1;  // openblas_get_parallel(): OPENBLAS_THREAD

template <class T>
using CblasGemm = void (*)(CblasOrder, CblasTranspose, CblasTranspose, int, int, int, T,
                           const T*, int, const T*, int, T, T*, int);

struct OpenBlas {
  CblasGemm<float> sgemm;
  CblasGemm<double> dgemm;
  char* (*get_config)();
  char* (*get_corename)();
  int (*get_parallel)();
  void (*set_num_threads)(int);
};

// What gemm runs: OpenBLAS (api != nullptr) or the built-in GEMM, and why.
struct Choice {
  const OpenBlas* api;
  std::string why_builtin;
};

#ifdef DANLU_OPENBLAS_LIBRARY
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
bool resolve(void* lib, const char* name, F* fn, std::string* why) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!*fn) *why = std::string("OpenBLAS (") + DANLU_OPENBLAS_LIBRARY + ") has no " + name;
  return *fn != nullptr;
}

// The loaded library, or nullptr with the reason in *why.
const OpenBlas* load(std::string* why) {
  choose_core_from_cpu_features();
  void* lib = dlopen(DANLU_OPENBLAS_LIBRARY, RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    *why = std::string("OpenBLAS could not be loaded (") + dlerror() + ")";
    return nullptr;
  }
  static OpenBlas api{};
  if (resolve(lib, "cblas_sgemm", &api.sgemm, why) &&
      resolve(lib, "cblas_dgemm", &api.dgemm, why) &&
      resolve(lib, "openblas_get_config", &api.get_config, why) &&
      resolve(lib, "openblas_get_corename", &api.get_corename, why) &&
      resolve(lib, "openblas_get_parallel", &api.get_parallel, why) &&
      resolve(lib, "openblas_set_num_threads", &api.set_num_threads, why)) {
    // danlu threads every product itself (gemm_openblas), with OpenMP: a
    // pthreads OpenBLAS's own threads would spin on the cores that OpenMP's
    // threads are spinning on between the two libraries' parallel regions.
    if (api.get_parallel() == kOpenBlasPthreads) api.set_num_threads(1);
    return &api;
  }
  return nullptr;
}
#endif

Choice choose() {
  const char* env = std::getenv("DANLU_GEMM");
  const std::string want = env && *env ? env : "auto";
  DANLU_CHECK(want == "auto" || want == "openblas" || want == "builtin", "DANLU_GEMM=", want,
              " is not a CPU GEMM; use auto, openblas or builtin");
  if (want == "builtin") return {nullptr, "DANLU_GEMM=builtin"};
#ifdef DANLU_OPENBLAS_LIBRARY
  std::string why;
  if (const OpenBlas* api = load(&why)) return {api, ""};
#else
  const std::string why = "OpenBLAS not found at build time";
#endif
  DANLU_CHECK(want != "openblas", "DANLU_GEMM=openblas, but ", why,
              "; install libopenblas0 (and libopenblas-dev before configuring) or unset DANLU_GEMM");
  return {nullptr, why};
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

const OpenBlas& openblas() {
  const OpenBlas* api = choice().api;
  if (api) return *api;
#ifdef DANLU_OPENBLAS_LIBRARY
  // The built-in GEMM was chosen; a direct OpenBLAS call (a benchmark) may
  // still load it.
  static std::string why;
  static const OpenBlas* loaded = load(&why);
  if (loaded) return *loaded;
  DANLU_FAIL(why, "; install libopenblas0");
#else
  DANLU_FAIL("OpenBLAS not found at build time; install libopenblas-dev and reconfigure");
#endif
}

CblasTranspose trans(bool t) { return t ? kTrans : kNoTrans; }

// OpenBLAS's own first words of its configuration, e.g. "OpenBLAS 0.3.21".
std::string openblas_version(const OpenBlas& api) {
  const std::string config = api.get_config();
  const size_t end = config.find(' ', config.find(' ') + 1);
  return config.substr(0, end);
}

// Products this small run on one thread: splitting them costs more than
// the threads win.
constexpr int64_t kSmallProduct = 64 * 64 * 64;  // multiply-adds

template <class T>
void openblas_serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                     int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const OpenBlas& api = openblas();
  if constexpr (std::is_same_v<T, float>)
    api.sgemm(kRowMajor, trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    api.dgemm(kRowMajor, trans(ta), trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

// C is cut into one block of rows per OpenMP thread (of columns when C is
// wider than tall), and each thread multiplies its block on serial OpenBLAS.
template <class T>
void gemm_openblas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads == 1 || m * n * k <= kSmallProduct) {
    openblas_serial(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  openblas();  // loads the library (or throws) before the parallel region
  const bool by_rows = m >= n;
  const int64_t extent = by_rows ? m : n;
  const int64_t block = (extent + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    const int64_t start = t * block, len = std::min(block, extent - start);
    if (len <= 0) continue;
    if (by_rows)
      openblas_serial(ta, tb, len, n, k, alpha, ta ? a + start : a + start * lda, lda, b, ldb,
                      beta, c + start * ldc, ldc);
    else
      openblas_serial(ta, tb, m, len, k, alpha, a, lda, tb ? b + start * ldb : b + start, ldb,
                      beta, c + start, ldc);
  }
}

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (choice().api)
    gemm_openblas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    gemm_builtin(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
void gemm_strided_batched(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b,
                          T beta, T* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  choice();  // DANLU_GEMM is read (or refused) before the parallel region
#pragma omp parallel for schedule(static) if (batch > 1 && m * n * k <= kSmallProduct)
  for (int64_t i = 0; i < batch; ++i)
    gemm(ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
         c + i * stride_c, ldc);
}

#define DANLU_INSTANTIATE(T)                                                                \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                        int64_t, T, T*, int64_t);                                            \
  template void gemm_openblas<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,  \
                                 const T*, int64_t, T, T*, int64_t);                         \
  template void gemm_strided_batched<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*,    \
                                        int64_t, int64_t, const T*, int64_t, int64_t, T, T*,   \
                                        int64_t, int64_t, int64_t);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

std::string blas_core_name() {
  const OpenBlas* api = choice().api;
  return api ? api->get_corename() : gemm_builtin_kernel<float>();
}

std::string blas_tuning_hint() {
  if (!choice().api) return "";
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

std::string gemm_description() {
  const Choice& c = choice();
  if (c.api) return openblas_version(*c.api) + " (" + c.api->get_corename() + " kernels)";
  return "built-in (blocked, OpenMP, " + std::to_string(omp_get_max_threads()) + " threads, " +
         gemm_builtin_kernel<float>() + " f32 kernel): " + c.why_builtin;
}

}  // namespace danlu::kernels::cpu
