// The built-in CPU GEMM: what cpu::gemm runs when OpenBLAS is absent, cannot
// be loaded, or DANLU_GEMM=builtin asks for it. Same contract as cpu::gemm.
//
// It follows GotoBLAS/BLIS. C (M x N) is computed in blocks that fit the
// caches, from copies ("packs") of op(A) and op(B) laid out in the order the
// innermost loop reads them:
//
//   for jc in N, by NC                  B block: KC x NC, ~1 MiB, stays in L2
//     for pc in K, by KC                  (shared by all threads)
//       pack op(B)[pc:, jc:] as NR-wide column panels, zero-padded
//       for ic in M, by MC                A block: MC x KC, in L3
//         pack op(A)[ic:, pc:] as MR-tall row panels, zero-padded
//         for each (MR-row panel, NR-column panel) pair, threads split them:
//           micro-kernel: C[MR x NR] (+)= A panel (MR x KC) . B panel (KC x NR)
//
// The micro-kernel keeps its MR x NR tile of C in vector registers for all
// KC steps; each step loads NR values of B, broadcasts MR values of A, and
// does MR * NR multiply-adds. Packing makes both loads contiguous and lets
// the kernel always run on full tiles: zero padding costs a few wasted
// multiply-adds at the edges, and an edge tile is written to C through a
// small buffer. The row panel is the outer of the two panel loops, so one A
// panel (MR x KC, ~12 KiB) stays in L1 while the B panels stream from L2.
//
// The tile size follows the vector registers: 32 AVX-512 registers hold a
// 12 x 32 f32 tile (24 accumulators), 16 AVX2 or SSE registers a 6 x 2-vector
// tile (12 accumulators), enough independent multiply-adds to hide their
// latency. The kernel is written once with GCC vector extensions and compiled
// for each instruction set with a target attribute; the CPU's features pick
// one at run time, so the build needs no -march flag.
//
// beta is applied on the first K block only (later blocks add with beta = 1);
// beta == 0 writes C without reading it, so NaN in C does not leak, as BLAS.
// k == 0 or alpha == 0 only scales C by beta.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "engine/error.h"
#include "kernels/gemm.h"

namespace danlu::kernels::cpu {

namespace {

// Below this many multiply-adds, one thread is faster than waking the others.
constexpr int64_t kParallelWork = int64_t(1) << 18;

template <class T, int Lanes>
struct VectorOf {
  typedef T type __attribute__((vector_size(Lanes * sizeof(T))));
};

// C[MR x NV*L] = alpha * A.B + beta * C for one packed A panel (MR per k) and
// one packed B panel (NV*L per k); beta == 0 does not read C. Inlined into
// each instruction set's entry point below, which decides its code.
template <class T, int MR, int NV, int L>
[[gnu::always_inline]] inline void micro_kernel(int64_t kc, const T* __restrict a,
                                                const T* __restrict b, T alpha, T beta,
                                                T* __restrict c, int64_t ldc) {
  using V = typename VectorOf<T, L>::type;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NV * L) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], b + v * L, sizeof(V));
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V ai = a[i] - V{};  // a broadcast (x - 0 is x exactly, x + 0 is not for -0)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      T* dst = c + i * ldc + v * L;
      V out = acc[i][v] * alpha;
      if (beta != T(0)) {
        V old;
        std::memcpy(&old, dst, sizeof(V));
        out += old * beta;
      }
      std::memcpy(dst, &out, sizeof(V));
    }
}

template <class T>
using MicroKernel = void (*)(int64_t, const T*, const T*, T, T, T*, int64_t);

// One micro-kernel per instruction set, as a tile shape and an entry point
// compiled for it.
template <class T>
struct Kernel {
  int mr, nr;
  MicroKernel<T> run;
  const char* isa;
};

#define DANLU_MICRO_KERNEL(NAME, TARGET, MR, NV, BYTES)                                     \
  template <class T>                                                                       \
  __attribute__((target(TARGET))) void NAME(int64_t kc, const T* a, const T* b, T alpha,   \
                                            T beta, T* c, int64_t ldc) {                   \
    micro_kernel<T, MR, NV, BYTES / sizeof(T)>(kc, a, b, alpha, beta, c, ldc);             \
  }                                                                                        \
  template <class T>                                                                       \
  constexpr Kernel<T> NAME##_kernel() {                                                    \
    return {MR, NV * int(BYTES / sizeof(T)), &NAME<T>, #NAME};                             \
  }
constexpr int kMaxTile = 12 * 32;  // the largest MR x NR below
DANLU_MICRO_KERNEL(avx512, "avx512f,fma", 12, 2, 64)
DANLU_MICRO_KERNEL(avx2, "avx2,fma", 6, 2, 32)
DANLU_MICRO_KERNEL(sse2, "sse2", 6, 2, 16)
#undef DANLU_MICRO_KERNEL

template <class T>
Kernel<T> pick_kernel() {
  if (__builtin_cpu_supports("avx512f")) return avx512_kernel<T>();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2_kernel<T>();
  return sse2_kernel<T>();
}

template <class T>
const Kernel<T>& kernel() {
  static const Kernel<T> k = pick_kernel<T>();
  return k;
}

// Block sizes in elements: a KC x NC block of B is about 1 MiB (half an L2)
// whatever the type; KC x MR of A is 12-24 KiB (part of a 48 KiB L1).
template <class T>
struct Blocks {
  static constexpr int64_t kc = 256;
  static constexpr int64_t nc = (int64_t(1) << 20) / (kc * sizeof(T));
  static constexpr int64_t mc = 1536;
};

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Each calling thread keeps its packing buffers between calls (GEMMs may be
// called by several OpenMP threads at once, each running serially).
template <class T>
T* buffer(int which, int64_t elements) {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<T, Free> buffers[2];
  thread_local int64_t sizes[2] = {0, 0};
  if (sizes[which] < elements) {
    const size_t bytes = round_up(elements * int64_t(sizeof(T)), 64);
    buffers[which].reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    sizes[which] = buffers[which] ? elements : 0;
    DANLU_CHECK(buffers[which], "GEMM: out of host memory for a ", bytes,
                "-byte packing buffer; free memory or use smaller matrices");
  }
  return buffers[which].get();
}

// The matrices as stored, with op() applied on read.
template <class T>
struct Operands {
  bool ta, tb;
  const T *a, *b;
  int64_t lda, ldb;
  T at(int64_t i, int64_t p) const { return ta ? a[p * lda + i] : a[i * lda + p]; }
  T bt(int64_t p, int64_t j) const { return tb ? b[j * ldb + p] : b[p * ldb + j]; }
};

// Packs rows [i0, i0+mr) x columns [p0, p0+kc) of op(A) as MR values per k.
template <class T>
void pack_a_panel(const Operands<T>& op, int64_t i0, int64_t rows, int64_t p0, int64_t kc,
                  int mr, T* dst) {
  if (rows < mr) std::fill(dst, dst + kc * mr, T(0));
  for (int64_t i = 0; i < rows; ++i) {
    if (op.ta) {
      const T* src = op.a + p0 * op.lda + i0 + i;
      for (int64_t p = 0; p < kc; ++p) dst[p * mr + i] = src[p * op.lda];
    } else {
      const T* src = op.a + (i0 + i) * op.lda + p0;
      for (int64_t p = 0; p < kc; ++p) dst[p * mr + i] = src[p];
    }
  }
}

// Packs rows [p0, p0+kc) x columns [j0, j0+cols) of op(B) as NR values per k.
template <class T>
void pack_b_panel(const Operands<T>& op, int64_t p0, int64_t kc, int64_t j0, int64_t cols,
                  int nr, T* dst) {
  if (!op.tb) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = op.b + (p0 + p) * op.ldb + j0;
      std::copy(src, src + cols, dst + p * nr);
      std::fill(dst + p * nr + cols, dst + (p + 1) * nr, T(0));
    }
    return;
  }
  if (cols < nr) std::fill(dst, dst + kc * nr, T(0));
  for (int64_t j = 0; j < cols; ++j) {
    const T* src = op.b + (j0 + j) * op.ldb + p0;
    for (int64_t p = 0; p < kc; ++p) dst[p * nr + j] = src[p];
  }
}

// C = beta * C, without reading C when beta == 0.
template <class T>
void scale(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0))
      std::fill(row, row + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// The loops of the top comment, run by every thread of the enclosing
// parallel region (or by one thread): the packing and the tile loops are
// shared out with `omp for`, whose barriers keep the packs consistent.
template <class T>
void blocked(const Kernel<T>& kern, const Operands<T>& op, int64_t m, int64_t n, int64_t k,
             T alpha, T beta, T* c, int64_t ldc, T* apack, T* bpack) {
  using B = Blocks<T>;
  const int mr = kern.mr, nr = kern.nr;
  for (int64_t jc = 0; jc < n; jc += B::nc) {
    const int64_t nc = std::min(B::nc, n - jc);
    const int64_t npanels = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < k; pc += B::kc) {
      const int64_t kc = std::min(B::kc, k - pc);
      const T beta_here = pc == 0 ? beta : T(1);
#pragma omp for schedule(static)
      for (int64_t q = 0; q < npanels; ++q)
        pack_b_panel(op, pc, kc, jc + q * nr, std::min<int64_t>(nr, nc - q * nr), nr,
                     bpack + q * kc * nr);
      for (int64_t ic = 0; ic < m; ic += B::mc) {
        const int64_t mc = std::min(B::mc, m - ic);
        const int64_t mpanels = (mc + mr - 1) / mr;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < mpanels; ++r)
          pack_a_panel(op, ic + r * mr, std::min<int64_t>(mr, mc - r * mr), pc, kc, mr,
                       apack + r * kc * mr);
#pragma omp for collapse(2) schedule(static)
        for (int64_t r = 0; r < mpanels; ++r)
          for (int64_t q = 0; q < npanels; ++q) {
            const int64_t rows = std::min<int64_t>(mr, mc - r * mr);
            const int64_t cols = std::min<int64_t>(nr, nc - q * nr);
            const T* ap = apack + r * kc * mr;
            const T* bp = bpack + q * kc * nr;
            T* ct = c + (ic + r * mr) * ldc + jc + q * nr;
            if (rows == mr && cols == nr) {
              kern.run(kc, ap, bp, alpha, beta_here, ct, ldc);
              continue;
            }
            alignas(64) T tile[kMaxTile];
            kern.run(kc, ap, bp, T(1), T(0), tile, nr);
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j) {
                const T v = alpha * tile[i * nr + j];
                ct[i * ldc + j] = beta_here == T(0) ? v : v + beta_here * ct[i * ldc + j];
              }
          }
      }
    }
  }
}

}  // namespace

template <class T>
void gemm_builtin(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                  const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) return scale(m, n, beta, c, ldc);
  using B = Blocks<T>;
  const Kernel<T>& kern = kernel<T>();
  const int64_t kc = std::min(B::kc, k);
  T* apack = buffer<T>(0, round_up(std::min(B::mc, m), kern.mr) * kc);
  T* bpack = buffer<T>(1, round_up(std::min(B::nc, n), kern.nr) * kc);
  const Operands<T> op{trans_a, trans_b, a, b, lda, ldb};
  const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1 && m * n * k >= kParallelWork;
#pragma omp parallel if (parallel)
  blocked(kern, op, m, n, k, alpha, beta, c, ldc, apack, bpack);
}

template <class T>
std::string gemm_builtin_kernel() {
  const Kernel<T>& kern = kernel<T>();
  return std::string(kern.isa) + " " + std::to_string(kern.mr) + "x" + std::to_string(kern.nr);
}

template void gemm_builtin<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_builtin<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                   int64_t, const double*, int64_t, double, double*, int64_t);
template std::string gemm_builtin_kernel<float>();
template std::string gemm_builtin_kernel<double>();

}  // namespace danlu::kernels::cpu
