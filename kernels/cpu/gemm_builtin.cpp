// The built-in CPU GEMM: what cpu::gemm runs when OpenBLAS is absent, cannot
// be loaded, or DANLU_GEMM=builtin asks for it. Same contract as cpu::gemm.
//
// It follows GotoBLAS/BLIS. C (M x N) is computed in blocks that fit the
// caches, from copies ("packs") of op(A) and op(B) laid out in the order the
// innermost loop reads them:
//
//   for jc in N, by NC
//     for pc in K, by KC
//       pack op(B)[pc:pc+KC, jc:jc+NC] as NR-wide column panels, zero-padded
//         (~1 MiB: it stays in L2 while every row panel of A passes by it)
//       for each row panel of A (MR rows):
//         pack op(A)[rows, pc:pc+KC] as one MR-tall panel (8-16 KiB: it
//           stays in L1 while it meets every column panel)
//         for each column panel of B:
//           micro-kernel: C[MR x NR] (+)= A panel (MR x KC) . B panel (KC x NR)
//
// With several threads, each takes a contiguous share of C's row panels or
// of its column panels and runs the loops above on its share alone, with
// its own packs: no barriers, only the fork and join of one parallel region.
// Inside an OpenMP parallel region (the convolution's threads each lowering
// their own images) it runs on the calling thread only.
//
// The micro-kernel keeps its MR x NR tile of C in vector registers for all
// KC steps; each step loads NR values of B, broadcasts MR values of A, and
// does MR * NR multiply-adds. Packing makes both loads contiguous and lets
// the kernel always run on full tiles: zero padding costs a few wasted
// multiply-adds at the edges, and an edge tile is written to C through a
// small buffer.
//
// The tile size follows the vector registers: 32 AVX-512 registers hold an
// 8 x 48 f32 tile (24 accumulators), 16 AVX2 or SSE registers a 6 x 2-vector
// tile (12 accumulators), enough independent multiply-adds to hide their
// latency. 8 rows divide the channel counts of CNNs (C is O x positions in
// the convolution's forward GEMM). The kernel is written once with GCC
// vector extensions and compiled for each instruction set with a target
// attribute; cpu_isa() (kernels/cpu/cpu_isa.h) picks one at run time from
// the CPU's features or DANLU_CPU_ISA.
//
// When C is narrower than a tile and its columns would pad the tiles more
// than its rows (a weight gradient O x 9, say), the transposed problem
// C^T = op(B)^T op(A)^T is computed instead, writing C through transposed
// strides.
//
// beta is applied on the first K block only (later blocks add with beta = 1);
// beta == 0 writes C without reading it, so NaN in C does not leak, as BLAS.
// k == 0 or alpha == 0 only scales C by beta.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>

#include "engine/error.h"
#include "kernels/cpu/cpu_isa.h"
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
constexpr int kMaxRows = 8, kMaxTile = 8 * 48;  // the largest MR, MR x NR below (f32)
DANLU_MICRO_KERNEL(avx512, "avx512f,fma", 8, 3, 64)
DANLU_MICRO_KERNEL(avx2, "avx2,fma", 6, 2, 32)
DANLU_MICRO_KERNEL(sse2, "sse2", 6, 2, 16)
#undef DANLU_MICRO_KERNEL

template <class T>
Kernel<T> pick_kernel() {
  switch (cpu_isa()) {
    case CpuIsa::avx512: return avx512_kernel<T>();
    case CpuIsa::avx2: return avx2_kernel<T>();
    case CpuIsa::sse2: break;
  }
  return sse2_kernel<T>();
}

template <class T>
const Kernel<T>& kernel() {
  static const Kernel<T> k = pick_kernel<T>();
  return k;
}

// Block sizes in elements: a KC x NC block of B is about 1 MiB (half an L2)
// whatever the type; an A panel, KC x MR, is 8-16 KiB (of a 48 KiB L1).
template <class T>
struct Blocks {
  static constexpr int64_t kc = 256;
  static constexpr int64_t nc = (int64_t(1) << 20) / (kc * sizeof(T));
};

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// The packed B block. Each thread keeps its own between calls (GEMMs may
// be called by several OpenMP threads at once).
template <class T>
T* b_buffer(int64_t elements) {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<T, Free> buffer;
  thread_local int64_t size = 0;
  if (size < elements) {
    const size_t bytes = round_up(elements * int64_t(sizeof(T)), 64);
    buffer.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    size = buffer ? elements : 0;
    DANLU_CHECK(buffer, "GEMM: out of host memory for a ", bytes,
                "-byte packing buffer; free memory or use smaller matrices");
  }
  return buffer.get();
}

// Thread t's contiguous share [begin, end) of `count` items.
struct Share {
  int64_t begin, end;
};
inline Share share(int64_t count, int t, int threads) {
  return {count * t / threads, count * (t + 1) / threads};
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

// The two ways a panel is packed: dst[p * width + l] for p < kc and l <
// `lines` (zero up to `width`) is src[p * ld + l] (the panel's lines lie
// side by side in memory: a plain copy per k) or src[l * ld + p] (each line
// is contiguous along k: a transpose).
template <class T>
void copy_panel(const T* src, int64_t ld, int64_t lines, int64_t kc, int width, T* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    std::copy(src + p * ld, src + p * ld + lines, dst + p * width);
    std::fill(dst + p * width + lines, dst + (p + 1) * width, T(0));
  }
}

// In 4 x 4 blocks of f32, each transposed in registers (the SSE idiom of
// _MM_TRANSPOSE4_PS): a scalar transpose would cost about as much as the
// multiply-adds of a weight-gradient GEMM (B^T, packed once per use of M
// rows of A).
template <class T>
void transpose_panel(const T* src, int64_t ld, int64_t lines, int64_t kc, int width, T* dst) {
  if (lines < width) std::fill(dst, dst + kc * width, T(0));
  int64_t l = 0, kc4 = 0;
  if constexpr (std::is_same_v<T, float>) {
    using V4 = VectorOf<float, 4>::type;
    kc4 = kc / 4 * 4;
    for (; l + 4 <= lines; l += 4)
      for (int64_t p = 0; p < kc4; p += 4) {
        V4 r[4];
        for (int i = 0; i < 4; ++i) std::memcpy(&r[i], src + (l + i) * ld + p, sizeof(V4));
        const V4 t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5);
        const V4 t1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
        const V4 t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5);
        const V4 t3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
        const V4 cols[4] = {__builtin_shufflevector(t0, t2, 0, 1, 4, 5),
                            __builtin_shufflevector(t0, t2, 2, 3, 6, 7),
                            __builtin_shufflevector(t1, t3, 0, 1, 4, 5),
                            __builtin_shufflevector(t1, t3, 2, 3, 6, 7)};
        for (int i = 0; i < 4; ++i) std::memcpy(dst + (p + i) * width + l, &cols[i], sizeof(V4));
      }
  }
  // What the blocks left: the last lines, and the last k of every line.
  for (int64_t line = 0; line < lines; ++line)
    for (int64_t p = line < l ? kc4 : 0; p < kc; ++p) dst[p * width + line] = src[line * ld + p];
}

// Packs rows [i0, i0+rows) x columns [p0, p0+kc) of op(A) as MR values per k.
template <class T>
void pack_a_panel(const Operands<T>& op, int64_t i0, int64_t rows, int64_t p0, int64_t kc,
                  int mr, T* dst) {
  if (op.ta)
    copy_panel(op.a + p0 * op.lda + i0, op.lda, rows, kc, mr, dst);
  else
    transpose_panel(op.a + i0 * op.lda + p0, op.lda, rows, kc, mr, dst);
}

// Packs rows [p0, p0+kc) x columns [j0, j0+cols) of op(B) as NR values per k.
template <class T>
void pack_b_panel(const Operands<T>& op, int64_t p0, int64_t kc, int64_t j0, int64_t cols,
                  int nr, T* dst) {
  if (op.tb)
    transpose_panel(op.b + j0 * op.ldb + p0, op.ldb, cols, kc, nr, dst);
  else
    copy_panel(op.b + p0 * op.ldb + j0, op.ldb, cols, kc, nr, dst);
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

// The loops of the top comment, on one thread. C's element (i, j) is
// c[i * rs + j * cs]: cs = 1 for C, rs = 1 for C^T.
template <class T>
void blocked(const Kernel<T>& kern, const Operands<T>& op, int64_t m, int64_t n, int64_t k,
             T alpha, T beta, T* c, int64_t rs, int64_t cs) {
  using B = Blocks<T>;
  const int mr = kern.mr, nr = kern.nr;
  T* bpack = b_buffer<T>(std::min(B::kc, k) * round_up(std::min(B::nc, n), nr));
  alignas(64) T apack[kMaxRows * B::kc];
  for (int64_t jc = 0; jc < n; jc += B::nc) {
    const int64_t nc = std::min(B::nc, n - jc);
    for (int64_t pc = 0; pc < k; pc += B::kc) {
      const int64_t kc = std::min(B::kc, k - pc);
      const T beta_here = pc == 0 ? beta : T(1);
      for (int64_t j = 0; j < nc; j += nr)
        pack_b_panel(op, pc, kc, jc + j, std::min<int64_t>(nr, nc - j), nr, bpack + j * kc);
      for (int64_t i = 0; i < m; i += mr) {
        const int64_t rows = std::min<int64_t>(mr, m - i);
        pack_a_panel(op, i, rows, pc, kc, mr, apack);
        for (int64_t j = 0; j < nc; j += nr) {
          const int64_t cols = std::min<int64_t>(nr, nc - j);
          const T* bp = bpack + j * kc;
          T* ct = c + i * rs + (jc + j) * cs;
          if (rows == mr && cols == nr && cs == 1) {
            kern.run(kc, apack, bp, alpha, beta_here, ct, rs);
            continue;
          }
          alignas(64) T tile[kMaxTile];
          kern.run(kc, apack, bp, T(1), T(0), tile, nr);
          for (int64_t ti = 0; ti < rows; ++ti)
            for (int64_t tj = 0; tj < cols; ++tj) {
              const T v = alpha * tile[ti * nr + tj];
              T& out = ct[ti * rs + tj * cs];
              out = beta_here == T(0) ? v : v + beta_here * out;
            }
        }
      }
    }
  }
}

// Thread t of `threads` computes the rows or the columns of C in its share
// of the row or column panels, as a GEMM of its own: no barriers, so a
// thread that the OS deschedules delays only its own share. Rows or columns:
// whichever gives the busiest thread less to do, counting the operand that
// every thread packs whole (B when splitting rows) at ~16 multiply-adds per
// element copied.
template <class T>
void threaded(const Kernel<T>& kern, const Operands<T>& op, int64_t m, int64_t n, int64_t k,
              T alpha, T beta, T* c, int64_t rs, int64_t cs, int threads) {
  const int64_t mpanels = (m + kern.mr - 1) / kern.mr, npanels = (n + kern.nr - 1) / kern.nr;
  const int64_t most_rows = (mpanels + threads - 1) / threads * kern.mr;
  const int64_t most_cols = (npanels + threads - 1) / threads * kern.nr;
  const bool split_rows = most_rows * npanels * kern.nr * k + 16 * k * n <=
                          most_cols * mpanels * kern.mr * k + 16 * k * m;
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    const Share mine = share(split_rows ? mpanels : npanels, omp_get_thread_num(),
                             omp_get_num_threads());
    try {
      if (split_rows) {
        const int64_t i0 = mine.begin * kern.mr, i1 = std::min(m, mine.end * kern.mr);
        Operands<T> rows = op;
        rows.a += op.ta ? i0 : i0 * op.lda;
        if (i0 < i1) blocked(kern, rows, i1 - i0, n, k, alpha, beta, c + i0 * rs, rs, cs);
      } else {
        const int64_t j0 = mine.begin * kern.nr, j1 = std::min(n, mine.end * kern.nr);
        Operands<T> cols = op;
        cols.b += op.tb ? j0 * op.ldb : j0;
        if (j0 < j1) blocked(kern, cols, m, j1 - j0, k, alpha, beta, c + j0 * cs, rs, cs);
      }
    } catch (...) {  // an exception must not leave a parallel region
#pragma omp critical(danlu_gemm_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

template <class T>
void gemm_builtin(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                  const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) return scale(m, n, beta, c, ldc);
  const Kernel<T>& kern = kernel<T>();
  Operands<T> op{trans_a, trans_b, a, b, lda, ldb};
  int64_t rs = ldc, cs = 1;
  auto padded = [&](int64_t rows, int64_t cols) {
    return round_up(rows, kern.mr) * round_up(cols, kern.nr);
  };
  // Writing C^T goes through the edge-tile path, so it is worth it only when
  // C is narrower than one column panel.
  if (n < kern.nr && padded(n, m) < padded(m, n)) {  // C^T = op(B)^T op(A)^T
    op = {!trans_b, !trans_a, b, a, ldb, lda};
    std::swap(m, n);
    std::swap(rs, cs);
  }
  const int threads = omp_in_parallel() || m * n * k < kParallelWork ? 1 : omp_get_max_threads();
  if (threads == 1)
    blocked(kern, op, m, n, k, alpha, beta, c, rs, cs);
  else
    threaded(kern, op, m, n, k, alpha, beta, c, rs, cs, threads);
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
