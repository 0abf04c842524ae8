// The built-in blocked GEMM against a plain triple loop: all four transpose
// combinations, shapes that are not multiples of any tile or block (and
// shapes that cross the K, N and M blocks), row strides wider than the rows,
// alpha/beta, beta = 0 over NaN, k = 0, empty matrices, uneven thread
// shares, and calls from inside an OpenMP parallel region (where it runs
// serially). Also the two callers that split work across threads:
// gemm_openblas's blocks of C and gemm_strided_batched.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/gemm.h"
#include "tests/support/expect_close.h"

namespace danlu::kernels {
namespace {

// A GEMM problem with its operands as stored: op(A) is m x k, op(B) k x n,
// each row stride `pad` wider than its row.
template <class T>
struct Problem {
  bool ta, tb;
  int64_t m, n, k;
  T alpha, beta;
  int64_t lda, ldb, ldc;
  std::vector<T> a, b, c;

  // Values are multiples of 1/4 in [-2, 2] when `exact`, so every product
  // and partial sum of C is a multiple of 1/16 below 2^12 in magnitude
  // (k <= 600), and with dyadic alpha and beta the result needs under 20
  // significant bits: exactly representable in f32, whatever the summation
  // order. Otherwise uniform reals in [-1, 1].
  Problem(bool ta_, bool tb_, int64_t m_, int64_t n_, int64_t k_, T alpha_, T beta_, bool exact,
          int64_t pad = 3)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_), alpha(alpha_), beta(beta_),
        lda((ta ? m : k) + pad), ldb((tb ? k : n) + pad), ldc(n + pad) {
    std::mt19937 rng(static_cast<unsigned>(m * 131 + n * 17 + k));
    std::uniform_int_distribution<int> quarter(-8, 8);
    std::uniform_real_distribution<double> real(-1.0, 1.0);
    auto fill = [&](std::vector<T>& v, int64_t size) {
      v.resize(size);
      for (T& x : v) x = static_cast<T>(exact ? quarter(rng) / 4.0 : real(rng));
    };
    fill(a, (ta ? k : m) * lda);
    fill(b, (tb ? n : k) * ldb);
    fill(c, m * ldc);
  }

  T op_a(int64_t i, int64_t p) const { return ta ? a[p * lda + i] : a[i * lda + p]; }
  T op_b(int64_t p, int64_t j) const { return tb ? b[j * ldb + p] : b[p * ldb + j]; }

  // The definition, summed in double; C's padding is left as it was.
  std::vector<double> reference() const {
    std::vector<double> out(c.begin(), c.end());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t p = 0; p < k; ++p) sum += double(op_a(i, p)) * double(op_b(p, j));
        const double old = beta == T(0) ? 0.0 : double(beta) * double(c[i * ldc + j]);
        out[i * ldc + j] = double(static_cast<T>(double(alpha) * sum + old));
      }
    return out;
  }

  using Gemm = void (*)(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,
                        int64_t, T, T*, int64_t);
  std::vector<double> run(Gemm gemm = &cpu::gemm_builtin<T>) {
    gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    return {c.begin(), c.end()};
  }

  std::string name() const {
    return std::string(sizeof(T) == 4 ? "f32" : "f64") + (ta ? " A^T" : " A") +
           (tb ? " B^T" : " B") + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
           " k=" + std::to_string(k);
  }
};

struct Shape {
  int64_t m, n, k;
};

// Odd sizes, single rows and columns, and sizes crossing the blocks: K
// blocks of 256, N blocks of 512 (f64) or 1024 (f32) columns, M blocks of
// 1536 rows.
const Shape kShapes[] = {{1, 1, 1},    {7, 33, 127},  {127, 7, 33},  {33, 127, 7},
                         {1, 300, 257}, {300, 1, 65}, {13, 1100, 70}, {45, 37, 600},
                         {1600, 9, 5}};

template <class T>
void check_all_shapes(T alpha, T beta) {
  for (int t = 0; t < 4; ++t)
    for (const Shape& s : kShapes) {
      Problem<T> p(t & 1, t & 2, s.m, s.n, s.k, alpha, beta, /*exact=*/true);
      const std::vector<double> want = p.reference();
      // Exact operands (see Problem): any correct summation order gives the
      // reference bit for bit, so any difference is a bug, not rounding.
      testing::expect_close(p.run(), want, 0.0, 0.0, p.name());
    }
}

TEST(GemmBuiltin, AllTransposesAndOddShapesF64) { check_all_shapes<double>(1.5, -0.5); }
TEST(GemmBuiltin, AllTransposesAndOddShapesF32) { check_all_shapes<float>(1.5f, -0.5f); }
TEST(GemmBuiltin, AlphaOneBetaOne) { check_all_shapes<float>(1.0f, 1.0f); }
TEST(GemmBuiltin, NegativeAlphaBetaZero) { check_all_shapes<double>(-0.25, 0.0); }

// Real-valued f32 against the f64 reference: the error of a k-term dot
// product in f32 is at most about k * eps * sum |a_ip b_pj| <= k * eps * k
// here (|a|, |b| <= 1), plus the rounding of alpha and beta's terms.
TEST(GemmBuiltin, RealValuesF32WithinRoundingBound) {
  for (int t = 0; t < 4; ++t)
    for (const Shape& s : kShapes) {
      Problem<float> pf(t & 1, t & 2, s.m, s.n, s.k, 0.75f, 0.5f, /*exact=*/false);
      Problem<double> pd(t & 1, t & 2, s.m, s.n, s.k, 0.75, 0.5, /*exact=*/false);
      for (size_t i = 0; i < pf.a.size(); ++i) pd.a[i] = pf.a[i];
      for (size_t i = 0; i < pf.b.size(); ++i) pd.b[i] = pf.b[i];
      for (size_t i = 0; i < pf.c.size(); ++i) pd.c[i] = pf.c[i];
      const double eps = std::numeric_limits<float>::epsilon();
      const double atol = (double(s.k) * s.k * 0.75 + 2.0) * eps;
      testing::expect_close(pf.run(), pd.reference(), atol, 0.0, pf.name());
    }
}

// beta = 0 must not read C: NaN there (an uninitialised buffer) must not
// reach the result, in full tiles and in edge tiles.
TEST(GemmBuiltin, BetaZeroIgnoresNaNInC) {
  for (int t = 0; t < 4; ++t) {
    Problem<float> p(t & 1, t & 2, 37, 70, 19, 2.0f, 0.0f, /*exact=*/true);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) p.c[i * p.ldc + j] = std::numeric_limits<float>::quiet_NaN();
    // The reference never reads C when beta = 0; the padding stays finite and must stay put.
    testing::expect_close(p.run(), p.reference(), 0.0, 0.0, p.name());
  }
}

// k = 0 (and alpha = 0) leave beta * C; with beta = 0, zeros even over NaN.
TEST(GemmBuiltin, KZeroOrAlphaZeroScalesC) {
  Problem<double> p(false, false, 5, 9, 0, 1.0, 0.5, /*exact=*/true);
  std::vector<double> want = p.reference();
  testing::expect_close(p.run(), want, 0.0, 0.0, "k = 0, beta = 0.5");

  Problem<double> q(true, false, 6, 4, 0, 1.0, 0.0, /*exact=*/true);
  for (int64_t i = 0; i < q.m; ++i)
    for (int64_t j = 0; j < q.n; ++j) q.c[i * q.ldc + j] = std::nan("");
  testing::expect_close(q.run(), q.reference(), 0.0, 0.0, "k = 0, beta = 0 over NaN");

  Problem<float> r(false, true, 8, 8, 8, 0.0f, -2.0f, /*exact=*/true);
  testing::expect_close(r.run(), r.reference(), 0.0, 0.0, "alpha = 0");
}

// An empty C (m = 0 or n = 0) is left alone whatever k, alpha and beta are.
TEST(GemmBuiltin, EmptyMatricesAreNoOps) {
  for (const Shape& s : {Shape{0, 5, 3}, Shape{4, 0, 3}, Shape{0, 0, 0}}) {
    Problem<float> p(false, false, s.m, s.n, s.k, 1.0f, 0.0f, /*exact=*/true);
    p.c.assign(8, 7.0f);
    cpu::gemm_builtin<float>(false, false, s.m, s.n, s.k, 1.0f, p.a.data(), p.lda, p.b.data(),
                             p.ldb, 0.0f, p.c.data(), p.ldc);
    EXPECT_EQ(p.c, std::vector<float>(8, 7.0f)) << p.name();
  }
}

// The convolution calls GEMM from its own OpenMP threads, one matrix each;
// there the built-in runs serially, with each thread's own packing buffers.
TEST(GemmBuiltin, CallsFromParallelThreadsAreIndependent) {
  constexpr int kThreads = 4;
  std::vector<Problem<float>> problems;
  std::vector<std::vector<double>> want;
  for (int i = 0; i < kThreads; ++i) {
    problems.emplace_back(i & 1, i & 2, 40 + i, 300 + 7 * i, 260 + i, 1.0f, 0.5f, true);
    want.push_back(problems.back().reference());
  }
  std::vector<std::vector<double>> got(kThreads);
#pragma omp parallel for num_threads(kThreads)
  for (int i = 0; i < kThreads; ++i) got[i] = problems[i].run();
  for (int i = 0; i < kThreads; ++i)
    testing::expect_close(got[i], want[i], 0.0, 0.0, problems[i].name());
}

// With several threads each computes a share of C's row or column panels;
// three threads make the shares uneven, and a C with fewer panels than
// threads leaves a thread without work.
TEST(GemmBuiltin, ThreadSharesCoverC) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(3);
  for (const Shape& s : {Shape{200, 50, 40}, Shape{20, 700, 40}, Shape{9, 2000, 30},
                         Shape{1000, 17, 30}})
    for (int t = 0; t < 4; ++t) {
      Problem<float> p(t & 1, t & 2, s.m, s.n, s.k, 1.5f, 0.5f, /*exact=*/true);
      testing::expect_close(p.run(), p.reference(), 0.0, 0.0, p.name() + " on 3 threads");
    }
  omp_set_num_threads(saved);
}

// gemm_openblas cuts C into one block of rows (or of columns, when C is
// wider than tall) per OpenMP thread; three threads make uneven blocks, and
// a product small enough runs on one thread.
TEST(GemmOpenBlas, ThreadBlocksCoverC) {
  try {
    float one = 1.0f, out = 0.0f;
    cpu::gemm_openblas<float>(false, false, 1, 1, 1, 1.0f, &one, 1, &one, 1, 0.0f, &out, 1);
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  const int saved = omp_get_max_threads();
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    for (const Shape& s : {Shape{200, 50, 40}, Shape{20, 700, 40}, Shape{9, 2000, 30},
                           Shape{1000, 17, 30}, Shape{7, 9, 11}})
      for (int t = 0; t < 4; ++t) {
        Problem<float> p(t & 1, t & 2, s.m, s.n, s.k, 1.5f, 0.5f, /*exact=*/true);
        testing::expect_close(p.run(&cpu::gemm_openblas<float>), p.reference(), 0.0, 0.0,
                              p.name() + " on " + std::to_string(threads) + " threads");
      }
  }
  omp_set_num_threads(saved);
}

// Batches of small products run one per thread, large ones in turn; either
// way matrix i of the batch is the product of matrices i.
TEST(GemmStridedBatched, EachMatrixIsItsOwnProduct) {
  for (const Shape& s : {Shape{7, 9, 11}, Shape{50, 70, 90}})
    for (int t = 0; t < 4; ++t) {
      constexpr int kBatch = 5;
      std::vector<Problem<double>> problems;
      std::vector<double> a, b, c;
      for (int i = 0; i < kBatch; ++i) {
        problems.emplace_back(t & 1, t & 2, s.m, s.n, s.k, 0.5, -1.0, true, /*pad=*/0);
        Problem<double>& p = problems.back();  // values differ per entry, still exact
        for (double& x : p.a) x *= i + 1;
        for (double& x : p.b) x -= 0.25 * i;
        a.insert(a.end(), p.a.begin(), p.a.end());
        b.insert(b.end(), p.b.begin(), p.b.end());
        c.insert(c.end(), p.c.begin(), p.c.end());
      }
      const Problem<double>& p0 = problems[0];
      cpu::gemm_strided_batched<double>(p0.ta, p0.tb, s.m, s.n, s.k, 0.5, a.data(), p0.lda,
                                        s.m * s.k, b.data(), p0.ldb, s.k * s.n, -1.0, c.data(),
                                        p0.ldc, s.m * s.n, kBatch);
      for (int i = 0; i < kBatch; ++i) {
        const std::vector<double> got(c.begin() + i * s.m * s.n, c.begin() + (i + 1) * s.m * s.n);
        testing::expect_close(got, problems[i].reference(), 0.0, 0.0,
                              problems[i].name() + " batch entry " + std::to_string(i));
      }
    }
}

// gemm_description() names the GEMM gemm runs; DANLU_GEMM=builtin (as the
// default-builtin-gemm test preset sets) must select the built-in one.
TEST(GemmBuiltin, DescriptionNamesTheChoice) {
  const std::string d = cpu::gemm_description();
  const char* env = std::getenv("DANLU_GEMM");
  if (env && std::string(env) == "builtin") {
    EXPECT_EQ(d.rfind("built-in (", 0), 0u) << d;
  } else {
    EXPECT_TRUE(d.rfind("OpenBLAS ", 0) == 0 || d.rfind("built-in (", 0) == 0) << d;
  }
  if (d.rfind("built-in (", 0) == 0) {
    EXPECT_NE(d.find(cpu::gemm_builtin_kernel<float>()), std::string::npos) << d;
  }
}

}  // namespace
}  // namespace danlu::kernels
